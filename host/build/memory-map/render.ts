// Human-readable (linker-map style) and JSON forms of a memory map.
import type { MemoryMap } from "./planner.ts";

const hex = (n: number) => "0x" + n.toString(16).padStart(6, "0");

export function renderMapText(map: MemoryMap, extra: { moduleBytes?: number; staticDataBytes?: number; memoryPages?: number } = {}): string {
  const lines = [
    `Tidepool encoder arena — board ${map.board}, frame ${map.width}x${map.height} ${map.format}`,
    "",
    "  offset    end       size     kind         region                 purpose",
    "  --------  --------  -------  -----------  ---------------------  -------",
  ];
  for (const r of map.regions)
    lines.push(`  ${hex(r.offset)}  ${hex(r.offset + r.size)}  ${String(r.size).padStart(7)}  ${r.kind.padEnd(11)}  ${r.name.padEnd(21)}  ${r.purpose}`);
  const byKind = new Map<string, number>();
  for (const r of map.regions) byKind.set(r.kind, (byKind.get(r.kind) ?? 0) + r.size);
  lines.push("", "  totals by kind: " + [...byKind].map(([k, v]) => `${k} ${v}`).join(", "));
  lines.push(
    `  arena: ${map.arenaBytes} bytes of ${map.arenaBudgetBytes} budget (${map.headroomBytes} bytes headroom, ${((100 * map.arenaBytes) / map.arenaBudgetBytes).toFixed(1)}% used)`,
  );
  if (extra.staticDataBytes !== undefined) lines.push(`  AssemblyScript static data after the arena: ${extra.staticDataBytes} bytes`);
  if (extra.memoryPages !== undefined) lines.push(`  linear memory: ${extra.memoryPages} page(s) of 64 KiB, fixed (no memory.grow)`);
  if (extra.moduleBytes !== undefined) lines.push(`  module: ${extra.moduleBytes} bytes`);
  return lines.join("\n") + "\n";
}

export function mapToJson(map: MemoryMap, extra: Record<string, unknown> = {}) {
  const { init, ...rest } = map;
  return { ...rest, initBytes: init.length, ...extra };
}

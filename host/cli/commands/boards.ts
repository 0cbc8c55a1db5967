import { loadBoards } from "../../core/boards.ts";
import { parseCommandArgs, type Command } from "../command.ts";

const usage = "tidepool boards [--detect] [--json]";

export const command: Command = {
  name: "boards",
  summary: "list the supported boards; --detect matches connected serial ports (USB VID:PID) to boards",
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { json: { type: "boolean" }, detect: { type: "boolean" } }, usage, false);
    const boards = loadBoards();
    if (values.detect) {
      const { listPorts, matchBoards } = await import("../../../flash-tools/detect.ts");
      const { ports, source } = await listPorts();
      const found = matchBoards(ports, boards);
      if (values.json) {
        console.log(JSON.stringify({ source, ports: found }, null, 2));
        return 0;
      }
      if (found.length === 0) console.log(`no USB serial ports found (looked via ${source})`);
      for (const p of found)
        console.log(
          `${p.path.padEnd(16)} ${p.vid ?? "????"}:${p.pid ?? "????"}  ${p.boards.length ? p.boards.join(", ") : "(no matching board)"}  ${p.description ?? ""}`,
        );
      return 0;
    }
    if (values.json) {
      console.log(JSON.stringify(boards, null, 2));
      return 0;
    }
    console.log("board        clock    arena budget  camera                   serial   runtime  title");
    for (const b of boards)
      console.log(
        `${b.name.padEnd(12)} ${String(b.cpu.clockHz / 1e6).padStart(4)} MHz ${String(b.memory.arenaBudgetBytes).padStart(8)} B   ` +
          `${`${b.camera.sensor} ${b.camera.format} ${b.camera.width}x${b.camera.height}`.padEnd(24)} ${String(b.serial.baud).padEnd(8)} ${b.runtime.default.padEnd(8)} ${b.title}`,
      );
    return 0;
  },
};

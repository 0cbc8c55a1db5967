// Board definitions (boards/*.json), validated by a zod schema.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { PIXEL_FORMATS } from "./pixel-format.ts";
import { repoPath } from "./paths.ts";
import { TidepoolError } from "./errors.ts";

const hex4 = z.string().regex(/^[0-9a-f]{4}$/, "4 lower-case hex digits");

export const BoardSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/),
    title: z.string(),
    cpu: z.object({ isa: z.string(), core: z.string(), cores: z.number().int().positive(), clockHz: z.number().int().positive() }),
    memory: z
      .object({
        totalBytes: z.number().int().positive(),
        description: z.string(),
        arenaBudgetBytes: z.number().int().positive(),
        reasoning: z.string().min(20),
      })
      .refine((m) => m.arenaBudgetBytes <= m.totalBytes, "arenaBudgetBytes exceeds totalBytes"),
    stackReserveBytes: z.number().int().nonnegative(),
    camera: z.object({ sensor: z.string(), format: z.enum(PIXEL_FORMATS), width: z.number().int().positive(), height: z.number().int().positive() }),
    serial: z.object({ baud: z.number().int().positive(), usb: z.array(z.object({ vid: hex4, pid: hex4, description: z.string() })) }),
    runtime: z.object({ default: z.enum(["interp", "aot"]), interpreter: z.string(), aot: z.string() }),
    costModel: z.string(),
  })
  .strict();

export type Board = z.infer<typeof BoardSchema>;

export class BoardError extends TidepoolError {
  constructor(message: string) {
    super("board", message);
  }
}

export const BOARDS_DIR = repoPath("boards");

export function parseBoard(json: unknown, source: string): Board {
  const r = BoardSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new BoardError(`${source}: invalid board definition at ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return r.data;
}

export function loadBoards(dir = BOARDS_DIR): Board[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => {
      const path = join(dir, f);
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(path, "utf8"));
      } catch (e) {
        throw new BoardError(`${path}: not valid JSON (${(e as Error).message})`);
      }
      const board = parseBoard(json, path);
      if (`${board.name}.json` !== f) throw new BoardError(`${path}: board name "${board.name}" does not match its file name`);
      return board;
    });
}

export function getBoard(name: string, dir = BOARDS_DIR): Board {
  const boards = loadBoards(dir);
  const b = boards.find((x) => x.name === name);
  if (!b) throw new BoardError(`unknown board "${name}": known boards are ${boards.map((x) => x.name).join(", ")}`);
  return b;
}

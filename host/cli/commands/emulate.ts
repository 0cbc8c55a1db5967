import { getBoard } from "../../core/boards.ts";
import { VirtualBoard } from "../../../flash-tools/virtual-board/virtual-board.ts";
import { parseCommandArgs, UserError, type Command } from "../command.ts";

const usage = "tidepool emulate --board NAME [--baud N] [--camera DIR] [--trace]";

export const command: Command = {
  name: "emulate",
  summary: "start a virtual board (real MicroPython behind a pseudo-terminal); prints its /dev/pts/N first",
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { board: { type: "string" }, baud: { type: "string" }, camera: { type: "string" }, trace: { type: "boolean" } }, usage, false);
    if (!values.board) throw new UserError(`--board is required\nusage: ${usage}`, 2);
    const board = getBoard(values.board);
    const baud = values.baud ? Number(values.baud) : board.serial.baud;
    if (!Number.isInteger(baud) || baud < 300) throw new UserError(`invalid --baud "${values.baud}"`, 2);
    const vb = await VirtualBoard.start({ board, baud, cameraDir: values.camera, trace: values.trace });
    console.log(vb.path);
    console.error(`virtual ${board.name} on ${vb.path} at ${baud} baud; Ctrl-C to stop`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop); process.once("SIGTERM", stop);
    });
    await vb.stop();
    return 0;
  },
};

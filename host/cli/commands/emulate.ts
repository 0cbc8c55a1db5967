import { getBoard } from "../../core/boards.ts";
import { VirtualBoard } from "../../../flash-tools/virtual-board/virtual-board.ts";
import { EU868_DATA_RATES } from "../../../flash-tools/virtual-board/virtual-modem.ts";
import { parseLoss } from "../../wire/link/loss.ts";
import { intOption, parseCommandArgs, UserError, type Command } from "../command.ts";

const usage =
  "tidepool emulate --board NAME [--baud N] [--camera DIR] [--modem URL [--modem-token T] [--dev-eui HEX] [--dr 0..5] [--loss none|iid:R|ge:R:B]] [--trace]";

export const command: Command = {
  name: "emulate",
  summary: "start a virtual board (real MicroPython behind a pseudo-terminal, optionally a LoRa-E5 modem posting uplinks to URL); prints its /dev/pts/N first",
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        board: { type: "string" },
        baud: { type: "string" },
        camera: { type: "string" },
        trace: { type: "boolean" },
        modem: { type: "string" },
        "modem-token": { type: "string" },
        "dev-eui": { type: "string" },
        dr: { type: "string" },
        loss: { type: "string" },
      },
      usage,
      false,
    );
    if (!values.board) throw new UserError(`--board is required\nusage: ${usage}`, 2);
    const board = getBoard(values.board);
    const baud = values.baud ? Number(values.baud) : board.serial.baud;
    if (!Number.isInteger(baud) || baud < 300) throw new UserError(`invalid --baud "${values.baud}"`, 2);
    const dr = intOption("dr", values.dr, 0);
    if (dr !== undefined && !EU868_DATA_RATES[dr]) throw new UserError(`--dr must be an EU868 data rate 0..5, got ${dr}`, 2);
    if (values["dev-eui"] !== undefined && !/^[0-9a-fA-F]{16}$/.test(values["dev-eui"]))
      throw new UserError(`--dev-eui must be 16 hex digits, got "${values["dev-eui"]}"`, 2);
    if (!values.modem && (values["modem-token"] || values["dev-eui"] || values.dr || values.loss))
      throw new UserError(`modem options need --modem URL\nusage: ${usage}`, 2);
    const modem = values.modem
      ? {
          uplinkUrl: values.modem,
          token: values["modem-token"] ?? process.env.TIDEPOOL_GATEWAY_TOKEN ?? null,
          devEui: values["dev-eui"],
          dataRate: dr,
          loss: values.loss ? parseLoss(values.loss) : undefined,
        }
      : undefined;
    const vb = await VirtualBoard.start({ board, baud, cameraDir: values.camera, trace: values.trace, modem });
    console.log(vb.path);
    console.error(
      `virtual ${board.name} on ${vb.path} at ${baud} baud${vb.modem ? `; LoRa-E5 ${vb.modem.devEui} posting uplinks to ${values.modem}` : ""}; Ctrl-C to stop`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await vb.stop();
    if (vb.modem) console.error(`modem: ${JSON.stringify(vb.modem.stats())}`);
    return 0;
  },
};

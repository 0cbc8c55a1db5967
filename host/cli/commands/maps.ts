import { renderBoardMaps, staleBoardMaps, writeBoardMaps, MAPS_DIR } from "../../build/memory-map/board-maps.ts";
import { parseCommandArgs, UserError, type Command } from "../command.ts";

const usage = "tidepool maps [--check]";

export const command: Command = {
  name: "maps",
  summary:
    "build every board with the default model (and the task and fast encoders) and write memory-maps/<board>[.task|.fast].map(.json); --check only compares",
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { check: { type: "boolean" } }, usage, false);
    const maps = await renderBoardMaps();
    if (values.check) {
      const stale = staleBoardMaps(maps);
      if (stale.length) throw new UserError(`memory maps out of date for ${stale.join(", ")}: run \`tidepool maps\``);
      console.log(`memory maps in ${MAPS_DIR} are current`);
      return 0;
    }
    writeBoardMaps(maps);
    for (const m of maps)
      console.log(
        `${m.file.padEnd(16)} arena ${String(m.arenaBytes).padStart(6)} / ${String(m.budget).padStart(6)} B   module ${m.moduleBytes} B   -> memory-maps/${m.file}.map`,
      );
    return 0;
  },
};

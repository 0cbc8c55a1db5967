// The board the HIL suite talks to: a real one when TIDEPOOL_PORT and TIDEPOOL_BOARD are set,
// otherwise a virtual board (real MicroPython behind a pseudo-terminal) started for the suite.
import { getBoard, type Board } from "../../host/core/boards.ts";
import { samplePhotos } from "../../host/image/samples.ts";
import { VirtualBoard } from "../../flash-tools/virtual-board/virtual-board.ts";

export interface HilTarget {
  board: Board;
  port: string;
  baud: number;
  virtual: VirtualBoard | null;
  cameraImages: string[];
  stop(): Promise<void>;
}

export async function startTarget(): Promise<HilTarget> {
  const port = process.env.TIDEPOOL_PORT,
    name = process.env.TIDEPOOL_BOARD;
  if (port && name) {
    const board = getBoard(name);
    const baud = Number(process.env.TIDEPOOL_BAUD ?? board.serial.baud);
    return { board, port, baud, virtual: null, cameraImages: [], stop: async () => {} };
  }
  const board = getBoard(name ?? "k210");
  const cameraImages = samplePhotos().slice(0, 2);
  // A fast line keeps CI short; pacing itself is measured by the flash benchmark.
  const vb = await VirtualBoard.start({ board, baud: 921_600, cameraImages });
  return { board, port: vb.path, baud: 921_600, virtual: vb, cameraImages, stop: () => vb.stop() };
}

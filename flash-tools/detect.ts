// Finds serial ports and matches their USB VID:PID to boards/. serialport's list() needs udevadm,
// which many machines lack, so sysfs (/sys/class/tty/*/device/..) is read as a fallback.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SerialPort } from "serialport";
import type { Board } from "../host/core/boards.ts";

export interface PortInfo {
  path: string;
  vid?: string;
  pid?: string;
  description?: string;
}
export interface DetectedPort extends PortInfo {
  boards: string[];
}

function fromSysfs(root = "/sys/class/tty"): PortInfo[] {
  if (!existsSync(root)) return [];
  const ports: PortInfo[] = [];
  for (const name of readdirSync(root)) {
    if (!/^tty(USB|ACM)\d+$/.test(name)) continue;
    // /sys/class/tty/ttyUSB0/device -> the interface; its parent holds idVendor/idProduct.
    let dir = join(root, name, "device");
    let vid: string | undefined, pid: string | undefined, product: string | undefined;
    for (let up = 0; up < 4 && !vid; up++, dir = join(dir, "..")) {
      const v = join(dir, "idVendor");
      if (existsSync(v)) {
        vid = readFileSync(v, "utf8").trim().toLowerCase();
        pid = readFileSync(join(dir, "idProduct"), "utf8").trim().toLowerCase();
        product = existsSync(join(dir, "product")) ? readFileSync(join(dir, "product"), "utf8").trim() : undefined;
      }
    }
    ports.push({ path: `/dev/${name}`, vid, pid, description: product });
  }
  return ports;
}

export async function listPorts(): Promise<{ ports: PortInfo[]; source: string }> {
  try {
    const list = await SerialPort.list();
    return {
      source: "serialport",
      ports: list.map((p) => ({ path: p.path, vid: p.vendorId?.toLowerCase(), pid: p.productId?.toLowerCase(), description: p.manufacturer })),
    };
  } catch {
    return { source: "sysfs (serialport list() failed: udevadm missing?)", ports: fromSysfs() };
  }
}

export function matchBoards(ports: PortInfo[], boards: Board[]): DetectedPort[] {
  return ports.map((p) => ({
    ...p,
    boards: boards.filter((b) => b.serial.usb.some((u) => u.vid === p.vid && u.pid === p.pid)).map((b) => b.name),
  }));
}

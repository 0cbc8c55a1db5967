import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

import { DEFAULT_MODEL_PATH } from "../../build/build.ts";
import { ensureTables } from "../../build/model-tables.ts";
import { Classifier, MOBILENET_PATH } from "../../receiver/classifier.ts";
import { listEvalImages } from "../../eval/rd.ts";
import { MSSSIM_MIN_SIDE } from "../../eval/metrics.ts";
import { evalBoard } from "../../eval/tidepool-codec.ts";
import { loadRgb } from "../../image/load.ts";
import { LINK_PRESETS, getLink } from "../../wire/link/presets.ts";
import { parseLoss } from "../../wire/link/loss.ts";
import { simulateLinks, type DeadlineSpec, type SimImage } from "../../eval/link-simulate.ts";
import { readModel } from "../../model/format.ts";
import { repoPath } from "../../core/paths.ts";
import { parseCommandArgs, UserError, type Command, intOption } from "../command.ts";
import { imagenetSplit } from "../../core/dataset-split.ts";
import type { ServerDecoder } from "../../core/types.ts";
import { readInputFile } from "../../core/input-file.ts";
import { resolveModelPath } from "../../core/model-registry.ts";

const usage =
  "tidepool simulate --images DIR [--link NAME[,NAME...]] [--loss none|iid:R|ge:R:BURST[,...]] [--deadline SECONDS|PCT%[,...]] [--size N] [--limit N] [--repeats N] [--model FILE|NAME] [--no-classifier] [--json]\n       tidepool simulate --images DIR --policy fixed:K|fixed:best|adaptive|oracle|adacompress-jpeg|all[,...] [--interval SECONDS] [--limit N] [--model FILE|NAME] [--json]";
export const NO_DECODER_MESSAGE = "no Tidepool decoder installed (models/decoder.onnx): Tidepool's MS-SSIM and accuracy are not computed";

function parseDeadlines(s: string): DeadlineSpec[] {
  return s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean)
    .map((x) => {
      const pct = /^(\d+(?:\.\d+)?)%$/.exec(x),
        sec = /^(\d+(?:\.\d+)?)s?$/.exec(x);
      if (pct && +pct[1] > 0) return { kind: "fraction", fraction: +pct[1] / 100 };
      if (sec && +sec[1] > 0) return { kind: "seconds", seconds: +sec[1] };
      if (x === "inf" || x === "none") return { kind: "seconds", seconds: Infinity };
      throw new UserError(`--deadline: "${x}" is not SECONDS (e.g. 60), a share of Tidepool's lossless send time (e.g. 50%), or inf`, 2);
    });
}

export const command: Command = {
  name: "simulate",
  summary: "send Tidepool packets, JPEG and progressive JPEG over simulated LoRaWAN / Sigfox / 802.15.4 links with loss and a deadline",
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        images: { type: "string" },
        link: { type: "string" },
        loss: { type: "string" },
        deadline: { type: "string" },
        size: { type: "string" },
        limit: { type: "string" },
        repeats: { type: "string" },
        model: { type: "string" },
        "no-classifier": { type: "boolean" },
        json: { type: "boolean" },
        policy: { type: "string" },
        interval: { type: "string" },
      },
      usage,
      false,
    );
    if (values.model !== undefined) values.model = resolveModelPath(values.model); // a registered name ("task") or a file
    if (values.policy) return (await import("../simulate-policy.ts")).runPolicySimulation(values);
    if (!values.images) throw new UserError(`--images is required\nusage: ${usage}`, 2);
    const int = intOption;
    const wrap = <T>(f: () => T): T => {
      try {
        return f();
      } catch (e) {
        throw new UserError((e as Error).message, 2);
      }
    };
    const links = wrap(() => (values.link ?? Object.keys(LINK_PRESETS).join(",")).split(",").map((s) => getLink(s.trim())));
    const losses = wrap(() => (values.loss ?? "iid:0.2").split(",").map(parseLoss));
    const deadlines = parseDeadlines(values.deadline ?? "25%,50%,100%");
    const size = int("size", values.size, MSSSIM_MIN_SIDE);
    const limit = int("limit", values.limit, 1);
    const repeats = int("repeats", values.repeats, 1) ?? 1;
    const log = (s: string) => process.stderr.write(`${s}\n`);

    const modelPath = resolve(values.model ?? DEFAULT_MODEL_PATH);
    const model = readModel(readInputFile(modelPath, "model file"), modelPath);
    const { tables, note } = await ensureTables(model, { log });

    // Images: a labelled imagenet-sample folder uses its TEST split with labels; any other folder is unlabelled.
    const dir = resolve(values.images);
    const labelled = existsSync(join(dir, "labels.csv"));
    const items: { path: string; name: string; label: number | null }[] = labelled
      ? wrap(() => imagenetSplit("test", dir)).map((t) => ({ path: t.path, name: t.path.split("/").pop()!, label: t.label }))
      : wrap(() => listEvalImages(dir)).map((n) => ({ path: join(dir, n), name: n, label: null }));
    const chosen = limit ? items.slice(0, limit) : items;
    const images: SimImage[] = [];
    for (const it of chosen) {
      const img = await loadRgb(it.path, size ? { width: size, height: size } : undefined);
      if (Math.min(img.width, img.height) < MSSSIM_MIN_SIDE)
        throw new UserError(`${it.name} is ${img.width}x${img.height}: MS-SSIM needs both sides >= ${MSSSIM_MIN_SIDE} px (use --size)`, 2);
      images.push({ name: it.name, img, label: it.label });
    }

    let decoder: ServerDecoder | null = null;
    const onnx = repoPath("models", "decoder.onnx");
    if (existsSync(onnx)) {
      const mod = await import("../../receiver/decoder.ts");
      decoder = await mod.loadDecoder(onnx);
    } else log(NO_DECODER_MESSAGE);
    let classifier: Classifier | null = null;
    if (!values["no-classifier"]) {
      if (existsSync(MOBILENET_PATH)) classifier = await Classifier.load();
      else log(`no classifier at ${MOBILENET_PATH}: MobileNetV2 accuracy is not computed`);
    }

    const result = await simulateLinks(images, { links, losses, deadlines, repeats, model, tables, board: evalBoard(), decoder, classifier, log });
    await decoder?.close?.();
    const settings = {
      images: `${images.length} from ${dir}${size ? `, ${size}x${size} cover crops` : ", full size"}`,
      tables: note,
      repeats,
      decoder: decoder ? "models/decoder.onnx" : null,
      top1: result.top1Kind,
    };
    if (values.json) {
      console.log(JSON.stringify({ settings, links: links.map((l) => ({ name: l.name, description: l.description })), rows: result.rows }));
      return 0;
    }
    console.log(`${settings.images}; Tidepool: ${note}; ${repeats} loss realisation(s) per image`);
    if (!decoder) console.log(NO_DECODER_MESSAGE);
    const top1Title = result.top1Kind === "accuracy" ? "top-1 acc" : result.top1Kind === "agreement" ? "top-1 agr" : "top-1";
    if (result.top1Kind === "agreement") console.log("top-1 agr: MobileNetV2 top-1 agreement with the undamaged image (the folder has no labels)");
    console.log(
      "JPEG: the largest quality whose packets take no more bytes than Tidepool's on that link; damaged files decoded by libjpeg (sharp, failOn:'none'); undecodable = shown grey",
    );
    const fmt = (x: number | null, d: number) => (x === null || !Number.isFinite(x) ? "n/a" : x.toFixed(d));
    for (const link of links) {
      console.log(`\n${link.name}: ${link.description}`);
      console.log(`  loss        deadline   codec              sent/total    delivered  bytes in   MS-SSIM  ${top1Title}  undecodable`);
      for (const r of result.rows.filter((x) => x.link === link.name))
        console.log(
          `  ${r.loss.padEnd(11)} ${`${r.deadline} ${fmt(r.deadlineSeconds, 0)}s`.padEnd(10)} ${r.codec.padEnd(18)} ${`${fmt(r.packetsSent, 1)}/${fmt(r.packetsTotal, 1)}`.padEnd(13)} ${fmt(r.packetsDelivered, 1).padStart(9)}  ${fmt(r.bytesDelivered, 0).padStart(8)}   ${fmt(r.msssim, 4).padStart(7)}  ${fmt(r.top1, 3).padStart(9)}  ${fmt(r.undecodable, 2).padStart(11)}`,
        );
    }
    return 0;
  },
};

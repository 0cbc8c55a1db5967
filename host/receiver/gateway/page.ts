// The gateway's web page (page.html beside this file): plain HTML + JS, no build step.
import { readFileSync } from "node:fs";

export const PAGE_HTML = readFileSync(new URL("./page.html", import.meta.url), "utf8");

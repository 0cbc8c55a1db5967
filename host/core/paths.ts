// Paths inside the repository, independent of the current working directory.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const repoPath = (...parts: string[]) => join(REPO_ROOT, ...parts);
/** ../shared beside the repository (datasets, models, references). */
export const SHARED_DIR = process.env.TIDEPOOL_SHARED ?? join(REPO_ROOT, "..", "shared");

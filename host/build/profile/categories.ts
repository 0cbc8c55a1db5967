// Instruction categories that cost tables price. Each executed WebAssembly instruction falls in one.
export const CATEGORIES = [
  "const",
  "local",
  "global",
  "alu32",
  "alu64",
  "mul32",
  "mul64",
  "div32",
  "div64",
  "float",
  "load8",
  "load16",
  "load32",
  "load64",
  "store8",
  "store16",
  "store32",
  "store64",
  "br_if",
  "br_taken_extra",
  "br",
  "br_table",
  "if",
  "else_taken_extra",
  "loop",
  "call",
  "call_indirect",
  "return",
  "select",
  "memory_bulk",
  "memory_byte",
  "other",
] as const;
export type Category = (typeof CATEGORIES)[number];
export type CategoryCounts = Partial<Record<Category, number>>;

/** Categories that are not instructions of their own (extra cost of a taken branch; bytes moved by memory.fill/copy). */
export const NOT_INSTRUCTIONS: ReadonlySet<Category> = new Set(["br_taken_extra", "else_taken_extra", "memory_byte"]);

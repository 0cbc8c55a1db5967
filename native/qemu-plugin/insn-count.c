/* QEMU TCG plugin: counts the guest instructions executed between marker functions.
 *
 *   -plugin insn-count.so,on=0xADDR,off=0xADDR,cut=0xADDR,out=PATH
 *
 * Every translated block adds its instruction count to a running total when it starts (an inline
 * add, no callback). Reaching `on` snapshots the total, `off` adds the difference to an
 * accumulator, `cut` closes a record. At exit each record is written to PATH as a line
 * "count <n>", followed by "total <n>" (every instruction the guest executed). With
 * `fn=0xSTART:0xEND` (repeatable, up to 64) it also counts the instructions of blocks that start
 * inside each address range (one function each; blocks end at the function's returns), written as
 * "fn <i> <n>" in argument order. The count is of
 * instructions, not cycles: QEMU models no pipeline, cache or wait state. Single vCPU only. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qemu-plugin-v1.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

enum mark { MARK_ON, MARK_OFF, MARK_CUT, MARKS };
static uint64_t mark_addr[MARKS];
static uint64_t total, snapshot, accumulated;
static uint64_t* records;
static size_t record_count, record_cap;
static char out_path[4096];
#define MAX_RANGES 64
static uint64_t range_lo[MAX_RANGES], range_hi[MAX_RANGES], range_count[MAX_RANGES];
static int ranges;

static void on_mark(unsigned int vcpu, void* userdata) {
  (void)vcpu;
  switch ((enum mark)(uintptr_t)userdata) {
    case MARK_ON: snapshot = total; break;
    case MARK_OFF: accumulated += total - snapshot; break;
    case MARK_CUT:
      if (record_count == record_cap) {
        record_cap = record_cap ? 2 * record_cap : 64;
        records = realloc(records, record_cap * sizeof *records);
        if (!records) { qemu_plugin_outs("insn-count: out of memory\n"); exit(1); }
      }
      records[record_count++] = accumulated;
      accumulated = 0;
      break;
    default: break;
  }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  size_t n = qemu_plugin_tb_n_insns(tb);
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &total, n);
  if (n && ranges) {
    uint64_t start = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, 0));
    for (int r = 0; r < ranges; r++)
      if (start >= range_lo[r] && start < range_hi[r]) qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &range_count[r], n);
  }
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    uint64_t at = qemu_plugin_insn_vaddr(insn);
    for (int m = 0; m < MARKS; m++)
      if (mark_addr[m] && at == mark_addr[m])
        qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, (void*)(uintptr_t)m);
  }
}

static void on_exit_(qemu_plugin_id_t id, void* userdata) {
  (void)id; (void)userdata;
  FILE* f = fopen(out_path, "w");
  if (!f) { qemu_plugin_outs("insn-count: cannot write the out file\n"); return; }
  for (size_t i = 0; i < record_count; i++) fprintf(f, "count %" PRIu64 "\n", records[i]);
  for (int r = 0; r < ranges; r++) fprintf(f, "fn %d %" PRIu64 "\n", r, range_count[r]);
  fprintf(f, "total %" PRIu64 "\n", total);
  fclose(f);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc, char** argv) {
  (void)info;
  for (int i = 0; i < argc; i++) {
    const char* a = argv[i];
    if (!strncmp(a, "on=", 3)) mark_addr[MARK_ON] = strtoull(a + 3, NULL, 0);
    else if (!strncmp(a, "off=", 4)) mark_addr[MARK_OFF] = strtoull(a + 4, NULL, 0);
    else if (!strncmp(a, "cut=", 4)) mark_addr[MARK_CUT] = strtoull(a + 4, NULL, 0);
    else if (!strncmp(a, "out=", 4)) snprintf(out_path, sizeof out_path, "%s", a + 4);
    else if (!strncmp(a, "fn=", 3) && ranges < MAX_RANGES) {
      char* end;
      range_lo[ranges] = strtoull(a + 3, &end, 0);
      if (*end != ':') { qemu_plugin_outs("insn-count: fn=START:END\n"); return -1; }
      range_hi[ranges++] = strtoull(end + 1, NULL, 0);
    }
    else { qemu_plugin_outs("insn-count: unknown argument\n"); return -1; }
  }
  if (!out_path[0]) { qemu_plugin_outs("insn-count: out=PATH is required\n"); return -1; }
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_exit_, NULL);
  return 0;
}

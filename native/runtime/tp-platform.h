// What the runtime and the harness need from the platform (semihosting under QEMU, a UART or the
// board SDK on hardware): report a fatal error and stop.
#ifndef TP_PLATFORM_H
#define TP_PLATFORM_H

#if defined(__GNUC__)
__attribute__((noreturn))
#endif
void tp_fatal(const char* what, const char* detail);

#endif

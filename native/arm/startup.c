// Cortex-M reset path for QEMU's mps2-an500 (Cortex-M7): vector table, .data copy, .bss clear, then
// newlib with semihosting (librdimon) for file I/O and exit.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start__, __bss_end__;
extern int main(void);
extern void initialise_monitor_handles(void);

void Reset_Handler(void);
static void Fault_Handler(void) { for (;;) {} }

__attribute__((section(".isr_vector"), used))
static const void* const vectors[16] = {
  &__stack_top, (void*)Reset_Handler, (void*)Fault_Handler, (void*)Fault_Handler,
  (void*)Fault_Handler, (void*)Fault_Handler, (void*)Fault_Handler, 0, 0, 0, 0,
  (void*)Fault_Handler, (void*)Fault_Handler, 0, (void*)Fault_Handler, (void*)Fault_Handler,
};

void Reset_Handler(void) {
  memcpy(&__data_start, &__data_load, (size_t)((char*)&__data_end - (char*)&__data_start));
  memset(&__bss_start__, 0, (size_t)((char*)&__bss_end__ - (char*)&__bss_start__));
  initialise_monitor_handles();
  exit(main());
}

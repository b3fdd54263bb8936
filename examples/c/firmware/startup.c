/* Startup for QEMU's mps2-an386 (Cortex-M4F): the vector table, the reset
 * handler (FPU on, .data copied, .bss zeroed, newlib's semihosting handles
 * opened, main called), newlib's heap (_sbrk over the linker script's heap
 * region) and the exit through semihosting so that QEMU's exit status is
 * main's. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "firmware.h"

extern uint32_t __data_start, __data_end, __data_load, __bss_start__, __bss_end__;
extern uint32_t __stack_top;
extern char __heap_start, __heap_end;
extern void initialise_monitor_handles(void);
extern int main(void);

void Reset_Handler(void);
void Fault_Handler(void);

/* Semihosting call: operation in r0, argument in r1, result in r0. */
static int semihost(int op, void *arg) {
  register int r0 __asm__("r0") = op;
  register void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

/* SYS_EXIT_EXTENDED (0x20) with ADP_Stopped_ApplicationExit (0x20026) and the
 * status: QEMU exits with the status. */
void fw_exit(int status) {
  uint32_t block[2] = {0x20026u, (uint32_t)status};
  fflush(stdout);
  fflush(stderr);
  semihost(0x20, block);
  for (;;) {
  }
}

/* newlib's exit() ends here. */
void _exit(int status) { fw_exit(status); }

/* Any fault (a bad pointer, an undefined instruction): report and fail. */
void Fault_Handler(void) {
  static const char msg[] = "FAIL: hard fault\n";
  semihost(0x04, (void *)msg); /* SYS_WRITE0 */
  fw_exit(3);
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&__stack_top), /* initial stack pointer */
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
};

/* The heap: newlib's malloc grows it through _sbrk; it never passes
 * __heap_end (malloc then returns NULL, the library reports it). */
static char *heap_top = &__heap_start;

void *_sbrk(ptrdiff_t incr) {
  char *prev = heap_top;
  if (incr < 0 || (size_t)incr > (size_t)(&__heap_end - heap_top)) return (void *)-1;
  heap_top += incr;
  return prev;
}

size_t fw_heap_arena_used(void) { return (size_t)(heap_top - &__heap_start); }
size_t fw_heap_arena_size(void) { return (size_t)(&__heap_end - &__heap_start); }

void Reset_Handler(void) {
  volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
  uint32_t *src = &__data_load, *dst;
  /* Full access to CP10 and CP11 (the FPU): the library is built for eabihf. */
  *cpacr |= 0xFu << 20;
  __asm__ volatile("dsb\n isb" ::: "memory");
  for (dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (dst = &__bss_start__; dst < &__bss_end__;) *dst++ = 0;
  initialise_monitor_handles();
  fw_exit(main());
}

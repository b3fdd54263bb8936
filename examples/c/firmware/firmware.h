#ifndef FIRMWARE_H
#define FIRMWARE_H
#include <stddef.h>

/* Ends the program through semihosting with `status` (QEMU's exit status). */
void fw_exit(int status) __attribute__((noreturn));
/* Bytes of the heap region newlib's malloc has taken, and its size. */
size_t fw_heap_arena_used(void);
size_t fw_heap_arena_size(void);

#endif

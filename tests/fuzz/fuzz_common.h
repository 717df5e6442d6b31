/* Shared by the libFuzzer harnesses (and their plain replay build, replay_main.c): a plugin
 * registry made once, and input bytes turned into a file name the readers can open. */
#ifndef FANIN_FUZZ_COMMON_H
#define FANIN_FUZZ_COMMON_H

#include "base/errors.h"
#include "plugin/registry.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The registry of the build tree's plugins, made on first use and kept (plugins stay mapped). */
static inline const fanin_registry *fuzz_registry(void) {
    static fanin_registry *reg;
    if (!reg) {
        const char *dirs[] = {FANIN_FUZZ_PLUGIN_DIR};
        char err[FANIN_ERRLEN];
        if (fanin__registry_new(&reg, dirs, 1, err, sizeof err) != FANIN_OK) {
            fprintf(stderr, "fuzz: cannot load plugins: %s\n", err);
            abort();
        }
    }
    return reg;
}

/* data[0..size) as an anonymous in-memory file; its path "/proc/self/fd/N" into path.
 * Returns the fd (close it when done) or -1. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t len) {
    int fd = memfd_create("fanin-fuzz", MFD_CLOEXEC);
    if (fd < 0) return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t k = write(fd, data + done, size - done);
        if (k <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)k;
    }
    snprintf(path, len, "/proc/self/fd/%d", fd);
    return fd;
}

#endif

/* The conformance checks that read a plugin's ELF file without loading it: its dynamic symbol
 * table (only fanin_plugin_entry may be exported) and its DT_NEEDED list (no BLAS, LAPACK or
 * OpenMP runtime: the host's single OpenBLAS does that work). 64-bit ELF, the sections' own
 * tables (.dynsym/.dynstr, .dynamic), every offset bounds-checked.
 */
#include "plugin/check.h"

#include <stdint.h>
#include <stdio.h>
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE (512L << 20)

typedef struct elf_file {
    unsigned char *data;
    size_t size;
    const Elf64_Ehdr *eh;
    const Elf64_Shdr *sh; /* eh->e_shnum section headers */
} elf_file;

static int say(int status, char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int say(int status, char *msg, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return status;
}

static int in_file(const elf_file *f, uint64_t off, uint64_t size) {
    return off <= f->size && size <= f->size - off;
}

/* Read path and check the ELF and section headers; FANIN_CHECK_FAIL with msg otherwise. */
static int elf_open(elf_file *f, const char *path, char *msg, size_t len) {
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) return say(FANIN_CHECK_FAIL, msg, len, "cannot open %s: %s", path, strerror(errno));
    long size = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
    if (size <= 0 || size > MAX_FILE || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return say(FANIN_CHECK_FAIL, msg, len, "%s is empty, too large or unreadable", path);
    }
    f->size = (size_t)size;
    f->data = malloc(f->size);
    size_t got = f->data ? fread(f->data, 1, f->size, fp) : 0;
    fclose(fp);
    if (got != f->size) return say(FANIN_CHECK_FAIL, msg, len, "cannot read %s", path);
    f->eh = (const Elf64_Ehdr *)f->data;
    if (f->size < sizeof(Elf64_Ehdr) || memcmp(f->eh->e_ident, ELFMAG, SELFMAG) != 0)
        return say(FANIN_CHECK_FAIL, msg, len, "%s is not an ELF file", path);
    if (f->eh->e_ident[EI_CLASS] != ELFCLASS64)
        return say(FANIN_CHECK_FAIL, msg, len, "%s is not a 64-bit ELF file", path);
    if (f->eh->e_type != ET_DYN)
        return say(FANIN_CHECK_FAIL, msg, len, "%s is not a shared object (ELF type %u)", path,
                   (unsigned)f->eh->e_type);
    if (f->eh->e_shentsize != sizeof(Elf64_Shdr) ||
        !in_file(f, f->eh->e_shoff, (uint64_t)f->eh->e_shnum * sizeof(Elf64_Shdr)))
        return say(FANIN_CHECK_FAIL, msg, len, "%s: corrupt section headers", path);
    f->sh = (const Elf64_Shdr *)(f->data + f->eh->e_shoff);
    return FANIN_CHECK_PASS;
}

static void elf_close(elf_file *f) { free(f->data); }

/* The first section of `type` whose data and linked string table lie in the file. */
static const Elf64_Shdr *find_section(const elf_file *f, uint32_t type, const Elf64_Shdr **str) {
    for (size_t i = 0; i < f->eh->e_shnum; i++) {
        const Elf64_Shdr *s = &f->sh[i];
        if (s->sh_type != type || s->sh_link >= f->eh->e_shnum) continue;
        *str = &f->sh[s->sh_link];
        if (in_file(f, s->sh_offset, s->sh_size) && in_file(f, (*str)->sh_offset, (*str)->sh_size))
            return s;
    }
    return NULL;
}

/* A NUL-terminated string at `off` of the string table, or NULL. */
static const char *str_at(const elf_file *f, const Elf64_Shdr *str, uint64_t off) {
    if (off >= str->sh_size) return NULL;
    const char *s = (const char *)f->data + str->sh_offset + off;
    return memchr(s, '\0', str->sh_size - off) ? s : NULL;
}

/* Append ", name" (or "name") to msg, noting once when it is full. */
static void append(char *msg, size_t len, const char *name) {
    size_t used = strlen(msg);
    if (used + strlen(name) + 8 < len)
        snprintf(msg + used, len - used, "%s%s", used ? ", " : "", name);
    else if (used + 5 < len && strcmp(msg + used - 3, "...") != 0)
        snprintf(msg + used, len - used, ", ...");
}

int fanin__check_elf_exports(const char *path, char *msg, size_t len) {
    elf_file f;
    const Elf64_Shdr *str = NULL, *sym = NULL;
    char extra[FANIN_CHECK_MSGLEN] = "";
    int rc = elf_open(&f, path, msg, len), has_entry = 0;
    if (rc == FANIN_CHECK_PASS && !(sym = find_section(&f, SHT_DYNSYM, &str)))
        rc = say(FANIN_CHECK_FAIL, msg, len, "%s has no dynamic symbol table", path);
    for (size_t i = 1; rc == FANIN_CHECK_PASS && i < sym->sh_size / sizeof(Elf64_Sym); i++) {
        const Elf64_Sym *s = (const Elf64_Sym *)(f.data + sym->sh_offset) + i;
        int bind = ELF64_ST_BIND(s->st_info), type = ELF64_ST_TYPE(s->st_info);
        if (s->st_shndx == SHN_UNDEF ||
            (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE))
            continue;
        if (type == STT_SECTION || type == STT_FILE ||
            ELF64_ST_VISIBILITY(s->st_other) == STV_HIDDEN)
            continue;
        const char *name = str_at(&f, str, s->st_name);
        if (!name || !*name) continue;
        if (strcmp(name, FANIN_ENTRY_SYMBOL) == 0) has_entry = 1;
        else append(extra, sizeof extra, name);
    }
    if (rc == FANIN_CHECK_PASS && !has_entry)
        rc = say(FANIN_CHECK_FAIL, msg, len,
                 "does not export %s (define it with "
                 "FANIN_PLUGIN_DEFINE(...))%s%s",
                 FANIN_ENTRY_SYMBOL, extra[0] ? "; exports instead: " : "", extra);
    else if (rc == FANIN_CHECK_PASS && extra[0])
        rc = say(FANIN_CHECK_FAIL, msg, len,
                 "exports more than %s: %s; build with "
                 "-fvisibility=hidden and the version script (fanin_add_plugin does both)",
                 FANIN_ENTRY_SYMBOL, extra);
    elf_close(&f);
    return rc;
}

/* Runtimes a plugin must not bring: a second BLAS or OpenMP fights the host's threads. */
static int forbidden(const char *lib) {
    static const char *const bad[] = {"libopenblas", "liblapack", "libblas", "libcblas", "libgomp",
                                      "libomp",      "libiomp",   "libmkl",  "libatlas"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (strncmp(lib, bad[i], strlen(bad[i])) == 0) return 1;
    return 0;
}

int fanin__check_elf_needed(const char *path, char *msg, size_t len) {
    elf_file f;
    const Elf64_Shdr *str, *dyn = NULL;
    char found[FANIN_CHECK_MSGLEN] = "";
    int rc = elf_open(&f, path, msg, len);
    if (rc == FANIN_CHECK_PASS) dyn = find_section(&f, SHT_DYNAMIC, &str);
    for (size_t i = 0; rc == FANIN_CHECK_PASS && dyn && i < dyn->sh_size / sizeof(Elf64_Dyn); i++) {
        const Elf64_Dyn *d = (const Elf64_Dyn *)(f.data + dyn->sh_offset) + i;
        if (d->d_tag == DT_NULL) break;
        const char *lib = d->d_tag == DT_NEEDED ? str_at(&f, str, d->d_un.d_val) : NULL;
        if (lib && forbidden(lib)) append(found, sizeof found, lib);
    }
    if (rc == FANIN_CHECK_PASS && found[0])
        rc = say(FANIN_CHECK_FAIL, msg, len,
                 "links %s; use the host's BLAS/LAPACK services "
                 "(host->sgemm, host->qr) and start no threads",
                 found);
    elf_close(&f);
    return rc;
}

/*
 * replay_main.c - runs a fuzz target without a fuzzing engine.
 *
 *     ./fuzz_server FILE_OR_DIR...
 *
 * Each file (folders are walked, one level of files and sub-folders) is
 * passed once to LLVMFuzzerTestOneInput().  With one file the input runs in
 * this process (make repro: the sanitizer trace shows directly); with more,
 * each runs in a child process with a 10 s alarm, so that one crash, abort
 * or hang is counted against its file and the rest still run.  Prints one
 * line per failing file and ends with "N passed, N failed"; exits 1 if any
 * failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long passed, failed;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        perror(path);
        if (f)
            fclose(f);
        return 1;
    }
    /* exactly n bytes, so that ASan sees any read past the input */
    buf = (uint8_t *)malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        fclose(f);
        free(buf);
        return 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

static void one(const char *path)
{
    pid_t pid;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    int status = 0;
    if (pid < 0) {
        perror("fork");
        failed++;
        return;
    }
    if (pid == 0) {
        alarm(10);
        exit(run_file(path)); /* exit(), not _exit(): coverage profiles */
    }
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFSIGNALED(status))
            printf("FAIL %s (signal %d%s)\n", path, WTERMSIG(status),
                   WTERMSIG(status) == SIGALRM ? ": hang" : "");
        else
            printf("FAIL %s (exit %d)\n", path, WEXITSTATUS(status));
        failed++;
    } else {
        passed++;
    }
    fflush(stdout);
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *path, int depth)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    if (stat(path, &st) != 0) {
        printf("FAIL %s (missing)\n", path);
        failed++;
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        one(path);
        return;
    }
    if (depth > 2 || (d = opendir(path)) == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        size_t len;
        if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0)
            continue;
        if (n == cap) {
            char **nn = (char **)realloc(names, (cap = cap * 2 + 16) * sizeof *names);
            if (nn == NULL)
                break;
            names = nn;
        }
        len = strlen(path) + strlen(e->d_name) + 2;
        names[n] = (char *)malloc(len);
        if (names[n] == NULL)
            break;
        snprintf(names[n], len, "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp);
    for (i = 0; i < n; i++) {
        walk(names[i], depth + 1);
        free(names[i]);
    }
    free(names);
}

#ifdef __AFL_FUZZ_TESTCASE_LEN
/* Built by afl-clang-fast without -fsanitize=fuzzer: AFL++ persistent mode
 * with the test case in shared memory (instrumentation/README.persistent_mode.md). */
__AFL_FUZZ_INIT();

int main(void)
{
    unsigned char *buf;
#ifdef __AFL_HAVE_MANUAL_CONTROL
    __AFL_INIT();
#endif
    buf = __AFL_FUZZ_TESTCASE_BUF;
    while (__AFL_LOOP(10000)) {
        int len = __AFL_FUZZ_TESTCASE_LEN;
        LLVMFuzzerTestOneInput(buf, (size_t)len);
    }
    return 0;
}
#else
int main(int argc, char **argv)
{
    int i;
    const char *name = strrchr(argv[0], '/');
    name = name ? name + 1 : argv[0];
    if (argc == 2) {
        struct stat st;
        if (stat(argv[1], &st) == 0 && !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "%s: replaying %s\n", name, argv[1]);
            if (run_file(argv[1]) != 0)
                return 1;
            printf("%s: 1 passed, 0 failed\n", name);
            return 0;
        }
    }
    for (i = 1; i < argc; i++)
        walk(argv[i], 0);
    printf("%s: %lu passed, %lu failed\n", name, passed, failed);
    return failed ? 1 : 0;
}
#endif

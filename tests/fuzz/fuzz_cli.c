/* fuzz_cli.c - libFuzzer harness: the options of `train`, `plan` and
 * `analyze` (sim/cli/cmd_*.c and cli_parse): the input is one option or
 * value per line; its first byte picks the command and its second the
 * model (llama-3-8b, mixtral-8x7b, the flex and NSA examples). Any crash,
 * sanitizer report, assertion or exit status other than 0 and 2 (1 only
 * for out of memory, which does not happen here) is a finding. Options that
 * write files (-o) are dropped so that the fuzzer never writes anywhere. */
#include "fuzz_util.h"

#include "../../sim/cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static bool quiet;
    if (!quiet) { /* tables go nowhere; errors stay on stderr */
        if (!freopen("/dev/null", "w", stdout)) abort();
        quiet = true;
    }
    if (n < 2 || n > 4096) return 0;
    static const char *const MODELS[] = {"llama-3-8b", "mixtral-8x7b",
                                         OB_DATADIR "/examples/attn-flex.yaml",
                                         OB_DATADIR "/examples/attn-nsa.yaml"};
    int (*const CMDS[])(int, char **) = {cmd_train, cmd_plan, cmd_analyze};
    const int cmd = data[0] % 3;
    char text[4097];
    memcpy(text, data + 2, n - 2);
    text[n - 2] = 0;
    char *argv[40];
    int argc = 0;
    argv[argc++] = (char *)MODELS[data[1] % 4];
    for (char *tok = text; tok && argc < 39;) {
        char *nl = strchr(tok, '\n');
        if (nl) *nl = 0;
        if (strncmp(tok, "-o", 2) != 0 && strcmp(tok, "--profile") != 0) argv[argc++] = tok;
        tok = nl ? nl + 1 : NULL;
    }
    argv[argc] = NULL;
    const int rc = CMDS[cmd](argc, argv);
    fflush(stdout);
    FUZZ_CHECK(rc == 0 || rc == 2);
    return 0;
}

/* cmd_import.c - `opbound import config.json [-o model.yaml]`: writes the
 * opbound description of a Hugging Face config, checked by loading it, so a
 * user can edit a design from a real starting point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../models/hf_import.h"
#include "cli.h"

static const struct cli_opt OPTS[] = {
    {"-o", "FILE", "write the model description to FILE (else standard output)"},
    CLI_OPT_VERBOSE,
    CLI_OPT_END,
};

const struct cli_cmd CLI_IMPORT = {
    .name = "import",
    .brief = "import config.json [-o model.yaml]",
    .summary = "Hugging Face config -> opbound YAML",
    .usage = "opbound import config.json [-o model.yaml] [--verbose]",
    .about = "Converts a Hugging Face config.json into an opbound model description (standard\n"
             "output, or the file given with -o, written only when the conversion succeeds).\n"
             "Families: llama, mistral, phi3, mixtral, qwen2, qwen3, qwen3_moe, deepseek_v2,\n"
             "deepseek_v3, kimi_k2, lfm2, gpt_oss, gemma2, gemma3. Fields that do not change\n"
             "cost are ignored (--verbose lists them); fields that change cost in a way opbound\n"
             "cannot model are refused with their position. Every command that takes MODEL\n"
             "also takes a config.json directly.\n",
    .opts = OPTS,
};

int cmd_import(int argc, char **argv)
{
    const char *C = "import";
    struct cli_args a;
    int rc = cli_parse(&CLI_IMPORT, argc, argv, &a);
    if (rc) return rc;
    if (a.help) {
        cli_help(&CLI_IMPORT, stdout);
        return 0;
    }
    if (a.npos != 1) return cli_fail(C, "expected one config.json");
    struct err e;
    char *yaml = NULL;
    struct hf_notes notes;
    if (hf_to_yaml(a.pos[0], &yaml, &notes, &e)) return cli_fail_err(&e);
    struct model *m = NULL;
    if (hf_load(a.pos[0], &m, NULL, &e)) {
        free(yaml);
        return cli_fail_err(&e);
    }
    model_free(m);
    cli_print_hf_notes(a.pos[0], &notes);
    if (!a.out) {
        fputs(yaml, stdout);
        free(yaml);
        return 0;
    }
    /* Write to a temporary name, then rename: no half-written file on error. */
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", a.out);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(yaml);
        return cli_fail(C, "cannot write %s", a.out);
    }
    const size_t n = strlen(yaml);
    const int wrote = fwrite(yaml, 1, n, f) == n;
    const int closed = fclose(f) == 0;
    const int ok = wrote && closed && rename(tmp, a.out) == 0;
    free(yaml);
    if (!ok) {
        remove(tmp);
        return cli_fail(C, "cannot write %s", a.out);
    }
    return 0;
}

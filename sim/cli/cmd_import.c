/* cmd_import.c - `opbound import config.json [-o model.yaml]`: writes the
 * opbound description of a Hugging Face config, checked by loading it, so a
 * user can edit a design from a real starting point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../models/hf_import.h"
#include "../core/outfile.h"
#include "cli.h"

static const char USAGE[] =
    "usage: opbound import config.json [-o model.yaml] [--verbose]\n"
    "\n"
    "Converts a Hugging Face config.json into an opbound model description (standard\n"
    "output, or the file given with -o, written only when the conversion succeeds).\n"
    "Families: llama, mistral, phi3, mixtral, qwen2, qwen3, qwen3_moe, deepseek_v2,\n"
    "deepseek_v3, kimi_k2, lfm2, gpt_oss, gemma2, gemma3. Fields that do not change cost are ignored (--verbose lists\n"
    "them); fields that change cost in a way opbound cannot model are refused with\n"
    "their position. Every command that takes MODEL also takes a config.json directly.\n";

int cmd_import(int argc, char **argv)
{
    const char *C = "import";
    struct cli_args a;
    int rc = cli_parse(C, argc, argv, NULL, &a);
    if (rc) return rc;
    if (a.help) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (a.npos != 1) return cli_fail(C, "expected one config.json");
    if (a.hw || a.phase || a.seq || a.ctx || a.batch || a.tp || a.wdt || a.kvdt || a.format)
        return cli_fail(C, "import takes only -o and --verbose");
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
    /* Write to a temporary name beside it, then rename: no half-written file
     * on error, and no other file touched (sim/core/outfile.h). */
    struct outfile of;
    if (outfile_open(&of, a.out, &e)) {
        free(yaml);
        return cli_fail_err(&e);
    }
    fputs(yaml, of.f);
    free(yaml);
    if (outfile_commit(&of, &e)) return cli_fail_err(&e);
    return 0;
}

/* test_help.c - help and option handling from the commands' option tables:
 * every option of a command is in its --help exactly once (and in its man
 * page), options a command does not take are refused with a message naming
 * what it takes, the AFD serve scenario refuses --hw and --tp, and bundled
 * names match in any case. */
#include "testutil.h"

static char out[1 << 16], err[1 << 14];

static const char *const COMMANDS[] = {"analyze", "compare",   "import",   "list",
                                       "serve",   "schema",    "roofline", "sweep",
                                       "report",  "calibrate", "validate", "predict",
                                       "train",   "plan"};

/* Counts the option lines ("  --name" or "  -o" at a line start) naming opt. */
static int option_lines(const char *help, const char *opt)
{
    int n = 0;
    char want[64];
    snprintf(want, sizeof want, "\n  %s ", opt);
    for (const char *p = strstr(help, want); p; p = strstr(p + 1, want)) n++;
    snprintf(want, sizeof want, "\n  %s\n", opt); /* a flag alone on its line */
    for (const char *p = strstr(help, want); p; p = strstr(p + 1, want)) n++;
    return n;
}

/* Every option line of every --help names a distinct option. */
static void test_help_lists_each_option_once(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof COMMANDS / sizeof COMMANDS[0]; c++) {
        char args[64];
        snprintf(args, sizeof args, "%s --help", COMMANDS[c]);
        assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 0);
        for (char *p = strstr(out, "\n  -"); p; p = strstr(p + 1, "\n  -")) {
            char opt[64];
            if (sscanf(p + 3, "%63[-a-z]", opt) != 1) continue;
            if (option_lines(out, opt) != 1)
                fail_msg("%s --help: option %s listed %d times", COMMANDS[c], opt,
                         option_lines(out, opt));
        }
    }
}

/* The gaps the issue names: --verbose in analyze, one --phase in roofline. */
static void test_help_gaps_closed(void **state)
{
    (void)state;
    assert_int_equal(tu_run("analyze --help", out, sizeof out, err, sizeof err), 0);
    assert_int_equal(option_lines(out, "--verbose"), 1);
    assert_int_equal(option_lines(out, "--per-op"), 1);
    assert_int_equal(tu_run("roofline --help", out, sizeof out, err, sizeof err), 0);
    assert_int_equal(option_lines(out, "--phase"), 1);
    assert_int_equal(option_lines(out, "--rate"), 1);
    /* and every option a command accepts is taken: --verbose works on analyze */
    assert_int_equal(tu_run("analyze llama-3-8b --hw h100 --phase decode --context 1k --verbose",
                            out, sizeof out, err, sizeof err),
                     0);
}

/* An option of another command is refused, naming what this one takes. */
static void test_options_a_command_ignores_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *args, *msg;
    } CASES[] = {
        {"calibrate m.csv --hw h100 --phase decode", "--phase is not an option here (calibrate takes --hw, -o, --holdout, --launch, --profile, --impl)"},
        {"predict m.csv --hw h100 --format csv", "--format is not an option here (predict takes --hw, --launch, --profile, --impl)"},
        {"analyze llama-3-8b --hw h100 --phase decode --context 1k -o x",
         "-o is not an option here (analyze takes --hw, --phase"},
        {"compare llama-3-8b mixtral --hw h100 --phase decode --context 1k --per-op",
         "--per-op is not an option here"},
        {"report x.yaml -o d --hw h100", "--hw is not an option here (report takes -o, --verbose)"},
        {"serve x.yaml --hw h100 --phase decode", "--phase is not an option here"},
        {"list hw --batch 2", "--batch is not an option here (list takes no options)"},
        {"sweep llama-3-8b --hw h100 --phase decode --vary batch=1,2 --rate roof -o d",
         "--rate is not an option here"},
        {"analyze llama-3-8b --bogus", "unknown option '--bogus'"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        int rc = tu_run(CASES[i].args, out, sizeof out, err, sizeof err);
        if (rc != 2 || !strstr(err, CASES[i].msg))
            fail_msg("'%s': rc %d, stderr: %s (expected '%s')", CASES[i].args, rc, err, CASES[i].msg);
        assert_string_equal(out, "");
    }
}

/* examples/serve-step3-afd.yaml names attention_hw (h20) and ffn_hw (h800):
 * --hw would be ignored and --tp too, so both are refused; without them it runs
 * on the named pools. */
static void test_serve_afd_refuses_hw_and_tp(void **state)
{
    (void)state;
    int rc = tu_run("serve " OB_DATADIR "/examples/serve-step3-afd.yaml --hw h800", out, sizeof out,
                    err, sizeof err);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "--hw does not apply"));
    rc = tu_run("serve " OB_DATADIR "/examples/serve-step3-afd.yaml --tp 4", out, sizeof out, err,
                sizeof err);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "--tp does not apply"));
    rc = tu_run("serve " OB_DATADIR "/examples/serve-step3-afd.yaml", out, sizeof out, err,
                sizeof err);
    if (rc) fail_msg("rc %d: %s", rc, err);
    assert_non_null(strstr(out, "8 x H20 (attention) + 8 x H800-SXM5-80GB (FFN)"));
    /* a plain scenario still needs --hw */
    rc = tu_run("serve " OB_DATADIR "/examples/serve-qwen3-chat.yaml", out, sizeof out, err,
                sizeof err);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "missing --hw HW"));
}

/* Bundled names in any case: H100 is h100-sxm5-80gb, LLAMA-3-8B is llama-3-8b. */
static void test_bundled_names_any_case(void **state)
{
    (void)state;
    int rc = tu_run("analyze LLAMA-3-8B --hw H100 --phase decode --context 1k --format json", out,
                    sizeof out, err, sizeof err);
    if (rc) fail_msg("rc %d: %s", rc, err);
    assert_non_null(strstr(out, "\"name\": \"H100-SXM5-80GB\""));
    assert_non_null(strstr(out, "models/llama-3-8b.yaml\""));
    rc = tu_run("analyze llama-3-8b --hw H2 --phase decode --context 1k", out, sizeof out, err,
                sizeof err);
    assert_int_equal(rc, 2); /* H2 starts h20 and h200: ambiguous, in any case */
    assert_non_null(strstr(err, "ambiguous device 'H2': 2 bundled names start with it (h20, h200)"));
}

/* `opbound man CMD` carries every option of the table, as .B lines. */
static void test_man_pages_from_the_tables(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof COMMANDS / sizeof COMMANDS[0]; c++) {
        char args[64];
        snprintf(args, sizeof args, "%s --help", COMMANDS[c]);
        assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 0);
        static char help[1 << 16];
        snprintf(help, sizeof help, "%s", out);
        snprintf(args, sizeof args, "man %s", COMMANDS[c]);
        assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 0);
        for (char *p = strstr(help, "\n  -"); p; p = strstr(p + 1, "\n  -")) {
            char opt[64], want[160] = ".B ";
            if (sscanf(p + 3, "%63[-a-z]", opt) != 1 || strcmp(opt, "--help") == 0) continue;
            size_t k = strlen(want);
            for (const char *q = opt; *q && k + 3 < sizeof want; q++) {
                if (*q == '-') want[k++] = '\\';
                want[k++] = *q;
            }
            want[k] = 0;
            if (!strstr(out, want)) fail_msg("man %s: no '%s'", COMMANDS[c], want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_lists_each_option_once),
        cmocka_unit_test(test_help_gaps_closed),
        cmocka_unit_test(test_options_a_command_ignores_are_refused),
        cmocka_unit_test(test_serve_afd_refuses_hw_and_tp),
        cmocka_unit_test(test_bundled_names_any_case),
        cmocka_unit_test(test_man_pages_from_the_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

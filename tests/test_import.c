/* test_import.c - Hugging Face config.json import: every config in
 * tests/data/hf (hand-written from the published files, see SOURCES.md) must
 * give the same counts as the bundled model of the same name and the
 * publishers' totals; import -> YAML -> analyze equals analyze on the JSON;
 * bad configs fail with FILE:LINE:COL. */
#include "testutil.h"

#include <sys/stat.h>

#include "../models/model_file.h"

static struct model *load_json(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/hf/%s.json", OB_DATADIR, name);
    struct model *m = NULL;
    struct err e;
    if (model_file_load(path, &m, NULL, &e)) {
        err_print(&e, stderr);
        return NULL;
    }
    return m;
}

/* Counts of the imported config equal the bundled YAML's and the published
 * total (hand-derived for each bundled model in test_counts.c and
 * test_attn_mla.c). */
static void same_as_bundled(const char *name, double published)
{
    struct model *j = load_json(name), *y = tu_model(name);
    assert_non_null(j);
    assert_non_null(y);
    struct model_counts cj, cy;
    model_count(j, 1, &cj);
    model_count(y, 1, &cy);
    assert_exact(cj.params, cy.params);
    assert_exact(cj.active_params, cy.active_params);
    assert_exact(cj.kv_elems_per_token, cy.kv_elems_per_token);
    assert_exact(cj.params, published);
    assert_int_equal(j->dt_w, y->dt_w);
    assert_int_equal(j->n_groups, y->n_groups);
    model_free(j);
    model_free(y);
}

static void test_import_families(void **state)
{
    (void)state;
    same_as_bundled("llama-3-8b", 8030261248.0);
    same_as_bundled("mixtral-8x7b", 46702792704.0);
    same_as_bundled("qwen3-30b-a3b", 30532122624.0);
    same_as_bundled("qwen3-235b-a22b", 235093634560.0);
    same_as_bundled("deepseek-v3", 671026419200.0); /* MTP layer not counted */
    same_as_bundled("lfm2-1.2b", 1170340608.0);     /* FFN 2*12288/3 = 8192; tied */
}

/* gpt-oss-120b: the bundled model's 116,829,156,672 parameters (derived by hand
 * in test_attn_swa.c), same KV and windows; its mxfp4 checkpoint is taken as
 * mxfp4 weights with the embedding and lm_head in bf16. Mistral-7B-v0.1: Llama-3-8B's layer shapes with V = 32000 and
 * a 4096 window on every layer: 32 x 218,112,000 + 2 x 32,000 x 4096 + 4096 =
 * 7,241,732,096 (the model card's "7.24B"). */
static void test_import_windows(void **state)
{
    (void)state;
    struct model *j = load_json("gpt-oss-120b"), *y = tu_model("gpt-oss-120b");
    assert_non_null(j);
    struct model_counts cj, cy;
    model_count(j, 1, &cj);
    model_count(y, 1, &cy);
    assert_exact(cj.params, 116829156672.0);
    assert_exact(cj.params, cy.params);
    assert_exact(cj.active_params, cy.active_params);
    assert_int_equal(j->dt_w, DT_MXFP4);
    assert_true(j->has_dt_emb && j->dt_emb == DT_BF16); /* modules_to_not_convert */
    assert_int_equal(j->n_groups, 36);
    assert_exact(model_kv_elems_per_seq(j, 1, 100000), model_kv_elems_per_seq(y, 1, 100000));
    model_free(j);
    model_free(y);
    struct model *m = load_json("mistral-7b-v0.1");
    assert_non_null(m);
    model_count(m, 1, &cj);
    assert_exact(cj.params, 32 * 218112000.0 + 2 * 32000.0 * 4096 + 4096);
    assert_exact(cj.params, 7241732096.0);
    assert_string_equal(m->groups[0].kind[SLOT_ATTN]->name, "swa");
    /* a 4096 window caps the cache: 32 layers x 2 x 8 x 128 elements per token */
    assert_true(model_kv_elems_per_seq(m, 1, 100000) < 32.0 * 2 * 8 * 128 * 100000 / 20);
    model_free(m);
}

/* Writes tests/data/hf/NAME.json with, in turn, the first from[i] replaced by
 * to[i] ("" removes it) to a temp .json; returns its path. */
static const char *json_edit(const char *name, int n, const char *const *from,
                             const char *const *to)
{
    static char path[128];
    char src[1024], text[8192], next[8192];
    snprintf(src, sizeof src, "%s/tests/data/hf/%s.json", OB_DATADIR, name);
    FILE *f = fopen(src, "r");
    assert_non_null(f);
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = 0;
    for (int i = 0; i < n; i++) {
        const char *p = strstr(text, from[i]);
        assert_non_null(p);
        snprintf(next, sizeof next, "%.*s%s%s", (int)(p - text), text, to[i], p + strlen(from[i]));
        memcpy(text, next, sizeof text);
    }
    snprintf(path, sizeof path, "/tmp/opbound-import-%d-%s.json", (int)getpid(), name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static const char *json_variant(const char *name, const char *from, const char *to)
{
    return json_edit(name, 1, &from, &to);
}

/* Whether one of the notes of importing path contains want. */
static bool has_note(const char *path, const char *want)
{
    char *yaml = NULL;
    struct err e;
    static struct hf_notes notes;
    assert_int_equal(hf_to_yaml(path, &yaml, &notes, &e), 0);
    free(yaml);
    for (int i = 0; i < notes.n_ignored; i++)
        if (strstr(notes.ignored[i], want)) return true;
    return false;
}

static struct model *load_path(const char *path)
{
    struct model *m = NULL;
    struct err e;
    if (model_file_load(path, &m, NULL, &e)) err_print(&e, stderr);
    return m;
}

/* sliding_window as each family's transformers implementation applies it
 * (hf_import.c, swa_rule):
 * - llama: LlamaConfig has no window, so a sliding_window in the file is
 *   ignored (and listed as such): gqa on all 32 layers, Llama-3-8B's 2 x 8 x
 *   128 = 2,048 KV elements per layer and token, 32 x 2,048 x 100,000 at
 *   100,000 tokens.
 * - mistral: applied whenever set; absent, MistralConfig's default 4096:
 *   32 x 2,048 x 4,096 at 100,000 tokens, as with the published 4096; a
 *   use_sliding_window false is ignored.
 * - qwen2: only with use_sliding_window true, on layers >= max_window_layers.
 *   Qwen2-7B (28 layers, 2 x 4 x 128 = 1,024 elements per layer and token)
 *   with use_sliding_window true, sliding_window 4096, max_window_layers 14:
 *   14 x 1,024 x 100,000 + 14 x 1,024 x 4,096. */
static void test_import_window_rules(void **state)
{
    (void)state;
    const char *p = json_variant("llama-3-8b", "\"vocab_size\"",
                                 "\"sliding_window\": 4096, \"use_sliding_window\": true, "
                                 "\"vocab_size\"");
    struct model *m = load_path(p);
    assert_non_null(m);
    assert_int_equal(m->n_groups, 1);
    assert_string_equal(m->groups[0].kind[SLOT_ATTN]->name, "gqa");
    assert_exact(model_kv_elems_per_seq(m, 1, 100000), 32.0 * 2048 * 100000);
    model_free(m);
    assert_true(has_note(p, "sliding_window: ignored, transformers' llama has no sliding window"));
    assert_true(has_note(p, "use_sliding_window: ignored"));
    unlink(p);

    p = json_variant("mistral-7b-v0.1", "\"sliding_window\": 4096,", "");
    m = load_path(p);
    assert_non_null(m);
    assert_string_equal(m->groups[0].kind[SLOT_ATTN]->name, "swa");
    assert_exact(model_kv_elems_per_seq(m, 1, 100000), 32.0 * 2048 * 4096);
    model_free(m);
    assert_true(has_note(p, "sliding_window: absent, the family default (4096) applies"));
    unlink(p);
    p = json_variant("mistral-7b-v0.1", "\"sliding_window\": 4096,",
                     "\"sliding_window\": 4096, \"use_sliding_window\": false,");
    m = load_path(p);
    assert_non_null(m);
    assert_exact(model_kv_elems_per_seq(m, 1, 100000), 32.0 * 2048 * 4096);
    model_free(m);
    assert_true(has_note(p, "use_sliding_window: ignored, transformers' mistral applies"));
    unlink(p);

    /* the published Qwen2-7B: use_sliding_window false, every layer full */
    m = load_json("qwen2-7b");
    assert_non_null(m);
    assert_exact(model_kv_elems_per_seq(m, 1, 100000), 28.0 * 1024 * 100000);
    model_free(m);
    static const char *const FROM[] = {"\"max_window_layers\": 28", "\"sliding_window\": 131072",
                                       "\"use_sliding_window\": false"};
    static const char *const TO[] = {"\"max_window_layers\": 14", "\"sliding_window\": 4096",
                                     "\"use_sliding_window\": true"};
    p = json_edit("qwen2-7b", 3, FROM, TO);
    m = load_path(p);
    assert_non_null(m);
    assert_int_equal(m->n_groups, 2);
    assert_string_equal(m->groups[0].kind[SLOT_ATTN]->name, "gqa");
    assert_string_equal(m->groups[1].kind[SLOT_ATTN]->name, "swa");
    assert_int_equal(m->groups[1].first_layer, 14);
    assert_exact(model_kv_elems_per_seq(m, 1, 100000), 14.0 * 1024 * 100000 + 14.0 * 1024 * 4096);
    model_free(m);
    unlink(p);
    /* max_window_layers beyond the layer count, as Qwen2.5-14B/32B ship it
     * (70 with 48/64 layers): accepted, no layer slides, all 28 full:
     * 28 x 1,024 x 100,000. Absent: Qwen2Config's default 28, the same. */
    static const char *const FROM2[] = {"\"max_window_layers\": 28,", "\"sliding_window\": 131072",
                                        "\"use_sliding_window\": false"};
    static const char *const TO70[] = {"\"max_window_layers\": 70,", "\"sliding_window\": 4096",
                                       "\"use_sliding_window\": true"};
    static const char *const TOABS[] = {"", "\"sliding_window\": 4096",
                                        "\"use_sliding_window\": true"};
    for (int v = 0; v < 2; v++) {
        p = json_edit("qwen2-7b", 3, FROM2, v ? TOABS : TO70);
        m = load_path(p);
        assert_non_null(m);
        assert_int_equal(m->n_groups, 1);
        assert_exact(model_kv_elems_per_seq(m, 1, 100000), 28.0 * 1024 * 100000);
        model_free(m);
        unlink(p);
    }
    /* layer_types must list one of the two kinds per layer, checked where it is */
    {
        static const char *const LT_TO[3] = {
            "\"layer_types\": \"sliding_attention\", \"max_window_layers\": 28",
            "\"layer_types\": [\"full_attention\"], \"max_window_layers\": 28",
            "\"layer_types\": [\"full_attention\", \"full_attention\", \"full_attention\", "
            "\"full_attention\", \"full_attention\", \"full_attention\", \"full_attention\", "
            "\"full_attention\", \"full_attention\", \"full_attention\", \"full_attention\", "
            "\"full_attention\", \"full_attention\", \"full_attention\", \"full_attention\", "
            "\"full_attention\", \"full_attention\", \"full_attention\", \"full_attention\", "
            "\"full_attention\", \"full_attention\", \"full_attention\", \"full_attention\", "
            "\"full_attention\", \"full_attention\", \"full_attention\", \"full_attention\", "
            "\"linear\"], \"max_window_layers\": 28"};
        static const char *const LT_MSG[3] = {
            "'layer_types' must be a list, one entry per layer",
            "'layer_types' has 1 entries, num_hidden_layers is 28",
            "layer_types[27] must be \"sliding_attention\" or \"full_attention\""};
        for (int v = 0; v < 3; v++) {
            p = json_variant("qwen2-7b", "\"max_window_layers\": 28", LT_TO[v]);
            struct err le;
            m = NULL;
            assert_int_equal(model_file_load(p, &m, NULL, &le), -1);
            assert_null(m);
            assert_int_equal(le.line, 11); /* the line of max_window_layers in the file */
            assert_true(le.col > 1);
            assert_string_equal(le.msg, LT_MSG[v]);
            unlink(p);
        }
    }

    /* a number the FFN width is computed from: refused as written */
    p = json_variant("lfm2-1.2b", "\"block_ffn_dim_multiplier\": 1.0",
                     "\"block_ffn_dim_multiplier\": 1e30");
    struct err e;
    m = NULL;
    assert_int_equal(model_file_load(p, &m, NULL, &e), -1);
    assert_int_equal(e.line, 6);
    assert_int_equal(e.col, 31);
    assert_string_equal(e.msg, "'block_ffn_dim_multiplier' must be between 0.001 and 1000, got 1e30");
    unlink(p);
}

/* Qwen2-7B (no bundled YAML): h 3584, 28 layers, H 28, Hkv 4, D 128, I 18944,
 * V 152064, untied, biases on q, k, v:
 *   attention 3584*3584*2 + 3584*512*2 + (3584 + 512 + 512) = 29,364,736
 *   MLP 3 x 3584 x 18944 = 203,685,888; norms 7168 -> 233,057,792 per layer
 *   total 28 x 233,057,792 + 2 x 152,064 x 3584 + 3584 = 7,615,616,512,
 * the safetensors total on the model page. */
static void test_import_qwen2_bias(void **state)
{
    (void)state;
    struct model *m = load_json("qwen2-7b");
    assert_non_null(m);
    struct model_counts c;
    model_count(m, 1, &c);
    const double layer = 3584.0 * 3584 * 2 + 3584.0 * 512 * 2 + (3584 + 512 + 512) +
                         3 * 3584.0 * 18944 + 7168;
    assert_exact(layer, 233057792.0);
    assert_exact(c.params, 28 * layer + 2 * 152064.0 * 3584 + 3584);
    assert_exact(c.params, 7615616512.0);
    assert_string_equal(m->name, "qwen2-7b");
    model_free(m);
}

/* import writes YAML that loads to the same analysis, to the last bit. */
static void test_import_roundtrip(void **state)
{
    (void)state;
    const char *names[] = {"llama-3-8b", "qwen3-30b-a3b", "deepseek-v3", "qwen2-7b"};
    struct device *d = tu_device("h100-sxm5-80gb");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/data/hf/%s.json", OB_DATADIR, names[i]);
        char *yaml = NULL;
        struct err e;
        assert_int_equal(hf_to_yaml(path, &yaml, NULL, &e), 0);
        struct model *a = NULL, *b = NULL;
        assert_int_equal(model_load_text("imported.yaml", yaml, strlen(yaml), &a, &e), 0);
        assert_int_equal(model_file_load(path, &b, NULL, &e), 0);
        struct analysis x, y;
        assert_int_equal(analysis_init(&x, a), 0);
        assert_int_equal(analysis_init(&y, b), 0);
        struct scenario sc = {.phase = PHASE_DECODE, .batch = 16, .context = 3000, .tp = 1};
        analysis_run(&x, a, d, &sc);
        analysis_run(&y, b, d, &sc);
        assert_exact(x.tot.time_s, y.tot.time_s);
        assert_exact(x.tot.flops, y.tot.flops);
        assert_exact(x.tot.bytes, y.tot.bytes);
        assert_exact(x.ttft_s, y.ttft_s);
        assert_exact(x.max_batch, y.max_batch);
        analysis_free(&x);
        analysis_free(&y);
        model_free(a);
        model_free(b);
        free(yaml);
    }
    device_free(d);
}

static void expect_json_error(const char *text, int line, int col, const char *msg)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/opbound-import-%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    struct model *m = NULL;
    struct err e;
    memset(&e, 0, sizeof e);
    int rc = model_file_load(path, &m, NULL, &e);
    if (rc == 0 || e.line != line || (col && e.col != col) || !strstr(e.msg, msg)) {
        print_error("want %d:%d '%s', got rc %d %d:%d '%s'\n", line, col, msg, rc, e.line, e.col,
                    e.msg);
        model_free(m);
        fail();
    }
    assert_string_equal(e.file, path);
    unlink(path);
}

static const char LLAMA_MIN[] =
    "{\n"                                   /* 1 */
    "  \"model_type\": \"llama\",\n"        /* 2 */
    "  \"hidden_size\": 256,\n"             /* 3 */
    "  \"num_hidden_layers\": 2,\n"         /* 4 */
    "  \"num_attention_heads\": 4,\n"       /* 5 */
    "  \"num_key_value_heads\": 2,\n"       /* 6 */
    "  \"intermediate_size\": 512,\n"       /* 7 */
    "  \"vocab_size\": 1000,\n"             /* 8 */
    "  \"hidden_act\": \"silu\"\n"          /* 9 */
    "}\n";

static const char *variant(const char *from, const char *to)
{
    static char buf[2048];
    const char *p = strstr(LLAMA_MIN, from);
    assert_non_null(p);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - LLAMA_MIN), LLAMA_MIN, to, p + strlen(from));
    return buf;
}

static void test_import_errors(void **state)
{
    (void)state;
    expect_json_error(variant("\"llama\"", "\"falcon\""), 2, 17,
                      "unknown model_type 'falcon' (imported families: llama");
    expect_json_error(variant("\"llama\"", "\"nemotron_h\""), 2, 17,
                      "model_type 'nemotron_h' is recognised but not imported yet");
    expect_json_error(variant("256,", "\"256\","), 3, 18,
                      "'hidden_size' must be an integer, got the string \"256\"");
    expect_json_error(variant("\"num_hidden_layers\": 2,\n", ""), 1, 1,
                      "missing required field 'num_hidden_layers'");
    expect_json_error(variant("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3"), 6, 26,
                      "num_attention_heads (4) is not a multiple of num_key_value_heads (3)");
    expect_json_error(variant("\"silu\"", "\"relu2\""), 9, 17,
                      "hidden_act 'relu2' is not modelled for this family");
    expect_json_error(variant("512,", "512,,"), 7, 28, "JSON syntax error"); /* the 2nd comma */
    expect_json_error(variant("\"model_type\": \"llama\",\n", ""), 1, 1,
                      "missing 'model_type'");
    expect_json_error(variant("\"silu\"", "\"silu\",\n  \"quantization_config\": "
                                          "{\"quant_method\": \"bitsandbytes\"}"),
                      10, 26, "quantization_config: method 'bitsandbytes' is not modelled");
    expect_json_error(variant("\"silu\"", "\"silu\", \"torch_dtype\": \"float64\""), 9, 40,
                      "unsupported torch_dtype 'float64'");
    expect_json_error("[1, 2]\n", 1, 1, "a config.json must be a JSON object");
    /* values are quoted as written, not as strtoll/strtod clamp them */
    expect_json_error(variant("256,", "99999999999999999999,"), 3, 18,
                      "'hidden_size' must be between 1 and 1048576, got 99999999999999999999");
    expect_json_error(variant("256,", "1e30,"), 3, 18, "'hidden_size' must be an integer, got 1e30");
}

/* The CLI: import to stdout or -o, a note for unknown fields, analyze on JSON. */
static char out_buf[1 << 16], err_buf[1 << 14];
static void test_import_cli(void **state)
{
    (void)state;
    char args[1024], yaml_path[128];
    snprintf(yaml_path, sizeof yaml_path, "/tmp/opbound-import-%d.yaml", (int)getpid());
    snprintf(args, sizeof args, "import %s/tests/data/hf/mixtral-8x7b.json -o %s", OB_DATADIR,
             yaml_path);
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    struct model *m = NULL;
    struct err e;
    assert_int_equal(model_file_load(yaml_path, &m, NULL, &e), 0);
    struct model_counts c;
    model_count(m, 1, &c);
    assert_exact(c.params, 46702792704.0);
    model_free(m);
    unlink(yaml_path);
    /* an unknown field is accepted and named on stderr */
    char json[128];
    snprintf(json, sizeof json, "/tmp/opbound-import-%d.json", (int)getpid());
    FILE *f = fopen(json, "w");
    fputs(variant("\"silu\"", "\"silu\", \"flux_capacitor\": 3"), f);
    fclose(f);
    snprintf(args, sizeof args, "analyze %s --hw h100 --phase decode --context 10", json);
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    assert_non_null(strstr(err_buf, "1 field(s) unknown to opbound were ignored (flux_capacitor)"));
    snprintf(args, sizeof args, "import %s --verbose", json);
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    assert_non_null(strstr(err_buf, "ignored flux_capacitor: unknown to opbound"));
    assert_non_null(strstr(out_buf, "kind: gqa, heads: 4, kv_heads: 2, head_dim: 64"));
    /* a failing import writes nothing */
    f = fopen(json, "w");
    fputs(variant("\"silu\"", "\"relu2\""), f);
    fclose(f);
    snprintf(args, sizeof args, "import %s -o %s", json, yaml_path);
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 2);
    assert_int_equal(access(yaml_path, F_OK), -1);
    unlink(json);
}

/* Issue 18 item 3: -o of 1,104 characters. The temporary name was built in a
 * char[1100] ("%s.tmp" truncated to the first 1,099 characters), so an
 * unrelated existing file named by that prefix was rewritten and renamed
 * away. Now: the victim keeps its bytes, the output is written whole, and no
 * temporary file is left in the folder. */
static void test_import_long_out_path(void **state)
{
    (void)state;
    char dir[1200], out[1200], victim[1200], args[2600];
    int k = snprintf(dir, sizeof dir, "/tmp/opbound-long-%d", (int)getpid());
    mkdir(dir, 0777);
    while (1104 - k - 1 > 250) { /* folders of 200 characters until the name fits */
        dir[k++] = '/';
        memset(dir + k, 'd', 200);
        k += 200;
        dir[k] = 0;
        assert_int_equal(mkdir(dir, 0777), 0);
    }
    const int n = 1104 - k - 1; /* file name length: out is exactly 1,104 characters */
    memcpy(out, dir, (size_t)k);
    out[k] = '/';
    memset(out + k + 1, 'A', (size_t)n);
    out[k + 1 + n] = 0;
    assert_int_equal((int)strlen(out), 1104);
    memcpy(victim, out, 1099); /* the old truncated temp name */
    victim[1099] = 0;
    FILE *f = fopen(victim, "w");
    assert_non_null(f);
    fputs("precious\n", f);
    fclose(f);
    snprintf(args, sizeof args, "import %s/tests/data/hf/llama-3-8b.json -o %s", OB_DATADIR, out);
    assert_int_equal(tu_run(args, out_buf, sizeof out_buf, err_buf, sizeof err_buf), 0);
    char text[64] = "";
    f = fopen(victim, "r");
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    assert_string_equal(text, "precious\n");
    struct model *m = NULL;
    struct err e;
    assert_int_equal(model_load(out, &m, &e), 0);
    model_free(m);
    /* exactly two files in the folder: the victim and the output */
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 2", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf /tmp/opbound-long-%d", (int)getpid());
    assert_int_equal(system(cmd), 0);
}

/* Gemma-2-9B: h 3584, 42 layers, H 16, Hkv 8, D 256, GeGLU I 14336, V 256000,
 * tied, four RMSNorms per layer (sandwich):
 *   attention 3584 x 16 x 256 x 2 + 3584 x 8 x 256 x 2 = 44,040,192
 *   GeGLU 3 x 3584 x 14336 = 154,140,672; norms 4 x 3584 = 14,336
 *   42 x 198,195,200 + 256,000 x 3584 + 3584 = 9,241,705,984 (model card 9.24B).
 * Even layers local (4096 window), odd layers global. */
static void test_import_gemma2(void **state)
{
    (void)state;
    struct model *m = load_json("gemma-2-9b");
    assert_non_null(m);
    struct model_counts c;
    model_count(m, 1, &c);
    const double layer = 3584.0 * 16 * 256 * 2 + 3584.0 * 8 * 256 * 2 + 3 * 3584.0 * 14336 + 4 * 3584;
    assert_exact(layer, 198195200.0);
    assert_exact(c.params, 42 * layer + 256000.0 * 3584 + 3584);
    assert_exact(c.params, 9241705984.0);
    assert_true(m->post_norms);
    assert_int_equal(m->n_groups, 42);
    assert_string_equal(m->groups[0].kind[SLOT_ATTN]->name, "swa");
    assert_string_equal(m->groups[1].kind[SLOT_ATTN]->name, "gqa");
    assert_string_equal(m->groups[0].kind[SLOT_FFN]->name, "geglu");
    assert_int_equal(m->dt_w, DT_FP32); /* the published config says float32 */
    model_free(m);
}

/* README-listed families without a bundled model, from their published
 * config.json (tests/data/hf/SOURCES.md), counted by hand:
 * Gemma 3 1B (gemma3_text): h 1152, 26 layers, H 4, Hkv 1, D 256, GeGLU 6912,
 *   V 262144 tied, q/k norms, four norms per layer:
 *   attention 1152 x 4 x 256 x 2 + 1152 x 256 x 2 = 2,949,120; q/k norms 512;
 *   GeGLU 3 x 1152 x 6912 = 23,887,872; norms 4 x 1152 = 4,608
 *   26 x 26,842,112 + 262,144 x 1152 + 1152 = 999,885,952 (keras-hub's
 *   gemma3_1b preset lists 999,885,952). Every 6th layer global
 *   (sliding_window_pattern 6: layers 5, 11, 17, 23), the others a 512 window.
 *   KV/token 26 x 2 x 1 x 256 x 2 B = 26,624 B.
 * Qwen3-4B (qwen3): h 2560, 36 layers, H 32, Hkv 8, D 128, SwiGLU 9728,
 *   V 151936 tied: attention 2560 x 4096 x 2 + 2560 x 1024 x 2 = 26,214,400,
 *   q/k norms 256, SwiGLU 3 x 2560 x 9728 = 74,711,040, norms 5,120:
 *   36 x 100,930,816 + 151,936 x 2560 + 2560 = 4,022,468,096 ("4.0B").
 *   KV/token 36 x 2 x 8 x 128 x 2 B = 147,456 B.
 * Phi-3-mini-4k (phi3): h 3072, 32 layers, MHA 32 x 96, SwiGLU 8192,
 *   V 32064 untied: attention 4 x 3072^2 = 37,748,736, SwiGLU 3 x 3072 x 8192 =
 *   75,497,472, norms 6,144: 32 x 113,252,352 + 2 x 32,064 x 3072 + 3072 =
 *   3,821,079,552 (keras-hub's phi3_mini_4k_instruct_en lists 3,821,079,552);
 *   sliding_window 2047 on every layer. KV/token 32 x 2 x 3072 x 2 B = 393,216 B. */
static void test_import_readme_families(void **state)
{
    (void)state;
    struct model_counts c;
    struct model *m = load_json("gemma-3-1b-pt");
    assert_non_null(m);
    model_count(m, 1, &c);
    assert_exact(c.params, 26 * (2949120.0 + 512 + 23887872 + 4608) + 262144.0 * 1152 + 1152);
    assert_exact(c.params, 999885952.0);
    assert_exact(c.kv_elems_per_token * 2, 26624.0);
    assert_true(m->post_norms);
    int global = 0;
    for (int i = 0; i < m->n_groups; i++) {
        assert_string_equal(m->groups[i].kind[SLOT_FFN]->name, "geglu");
        if (strcmp(m->groups[i].kind[SLOT_ATTN]->name, "gqa") == 0) global += m->groups[i].repeat;
        else assert_string_equal(m->groups[i].kind[SLOT_ATTN]->name, "swa");
    }
    assert_int_equal(global, 4);
    assert_int_equal(m->dt_w, DT_BF16);
    model_free(m);

    m = load_json("qwen3-4b");
    assert_non_null(m);
    model_count(m, 1, &c);
    assert_exact(c.params, 36 * (26214400.0 + 256 + 74711040 + 5120) + 151936.0 * 2560 + 2560);
    assert_exact(c.params, 4022468096.0);
    assert_exact(c.kv_elems_per_token * 2, 147456.0);
    for (int i = 0; i < m->n_groups; i++) {
        assert_string_equal(m->groups[i].kind[SLOT_ATTN]->name, "gqa");
        assert_string_equal(m->groups[i].kind[SLOT_FFN]->name, "swiglu");
    }
    model_free(m);

    m = load_json("phi-3-mini-4k-instruct");
    assert_non_null(m);
    model_count(m, 1, &c);
    assert_exact(c.params, 32 * (37748736.0 + 75497472 + 6144) + 2 * 32064.0 * 3072 + 3072);
    assert_exact(c.params, 3821079552.0);
    assert_exact(c.kv_elems_per_token * 2, 393216.0);
    for (int i = 0; i < m->n_groups; i++)
        assert_string_equal(m->groups[i].kind[SLOT_ATTN]->name, "swa");
    /* below the window every token is held: 1000 x 196,608 elements */
    assert_exact(model_kv_elems_per_seq(m, 1, 1000), 1000 * 196608.0);
    model_free(m);
}

/* quantization_config (docs/import.md, "Quantised checkpoints"): the weight
 * format, and the embedding and lm_head kept at the checkpoint's dtype where
 * the format leaves them (AWQ/GPTQ quantise the decoder's linear layers only,
 * lm_head only with "lm_head": true; fp8 and compressed-tensors the Linear
 * targets less `ignore`).
 *
 * By hand, tiny-awq (2 layers, h 256, 4 heads of 64, 2 KV heads, ffn 512,
 * V 1000, untied, fp16): tables 2 x 1000 x 256 = 512,000; per layer q 256 x
 * 256 + k, v 2 x 256 x 128 + o 256 x 256 = 196,608, swiglu 3 x 256 x 512 =
 * 393,216, two norms 512: 590,336; final norm 256; total 1,692,928. Bytes:
 * tables 512,000 x 2 (fp16) = 1,024,000; the other 1,180,928 at int4_g128,
 * 0.5 + 2.5/128 = 0.51953125 B each: 590,464 + 23,065 = 613,529; together
 * 1,637,529. A decode step of one sequence reads the lm_head's 512,000 B
 * (256,000 weights x 2 B) and one embedding row of 256 x 2 = 512 B. */
static void test_import_quant(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum dtype w;
        bool emb_kept;
    } cases[] = {
        {"tiny-awq", DT_INT4_G128, true},       {"tiny-gptq-head", DT_INT4_G128, false},
        {"tiny-gptq-g32", DT_INT4, true},       {"tiny-fp8", DT_FP8, true},
        {"tiny-ct-w4a16", DT_INT4_G128, true},  {"tiny-ct-nvfp4", DT_NVFP4, true},
        {"tiny-ct-fp8-head", DT_FP8, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct model *m = load_json(cases[i].name);
        assert_non_null(m);
        assert_int_equal(m->dt_w, cases[i].w);
        assert_int_equal(m->has_dt_emb, cases[i].emb_kept);
        if (cases[i].emb_kept)
            assert_int_equal(m->dt_emb, strcmp(cases[i].name, "tiny-fp8") == 0 ? DT_BF16 : DT_FP16);
        model_free(m);
    }
    struct model *m = load_json("tiny-awq");
    struct device *d = tu_device("h100-sxm5-80gb");
    struct analysis a;
    assert_int_equal(analysis_init(&a, m), 0);
    struct scenario sc = {.phase = PHASE_DECODE, .batch = 1, .context = 16};
    analysis_run(&a, m, d, &sc);
    assert_exact(a.counts.params, 1692928);
    assert_exact(a.weight_bytes, 1637529);
    assert_exact(a.weight_bytes_dev, 1637529);
    bool head = false, emb = false;
    for (int i = 0; i < a.graph.n; i++) {
        const struct op *op = &a.graph.ops[i];
        if (op->kind == OP_GEMM && op->head) assert_exact(op->cost.bytes_w, 512000), head = true;
        if (op->kind == OP_GATHER) assert_exact(op->cost.bytes_w, 512), emb = true;
    }
    assert_true(head && emb);
    /* --weight-dtype fp8 changes the rest; the tables stay fp16: 1,024,000 +
     * 1,180,928 x 1 = 2,204,928 */
    sc.has_dt_w = true;
    sc.dt_w = DT_FP8;
    analysis_run(&a, m, d, &sc);
    assert_exact(a.weight_bytes, 2204928);
    /* tp 2: tables split by vocabulary, 512,000 B per device of them */
    sc.tp = 2;
    analysis_run(&a, m, d, &sc);
    assert_exact(a.counts.emb_params_dev, 256000);
    analysis_free(&a);
    device_free(d);
    model_free(m);
    /* --verbose says so */
    char out[8192], err[4096], args[512];
    snprintf(args, sizeof args, "import %s/tests/data/hf/tiny-awq.json --verbose", OB_DATADIR);
    assert_int_equal(tu_run(args, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "embedding: fp16"));
    assert_non_null(strstr(out, "embedding and lm_head kept at fp16") ? out
                                                                        : strstr(err, "embedding and lm_head kept at fp16"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_families),
        cmocka_unit_test(test_import_qwen2_bias),
        cmocka_unit_test(test_import_windows),
        cmocka_unit_test(test_import_window_rules),
        cmocka_unit_test(test_import_gemma2),
        cmocka_unit_test(test_import_readme_families),
        cmocka_unit_test(test_import_roundtrip),
        cmocka_unit_test(test_import_errors),
        cmocka_unit_test(test_import_cli),
        cmocka_unit_test(test_import_long_out_path),
        cmocka_unit_test(test_import_quant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

"""The eager PyTorch baseline of bin/gpu-check, and the check's final report.

Runs GPT-2 small (Hugging Face's GPT2LMHeadModel, scaled_dot_product_attention, fused AdamW, a KV
cache in generate, no torch.compile) at the shapes and precision the Java check used, then merges
both into one JSON with the issue's targets: training >= 0.8x PyTorch eager, sampling >= 1.0x,
MFU >= 30%, and no failed correctness check.
"""
import argparse
import json
import statistics
import sys
import time

TF32_PEAK = 494.7e12
BF16_PEAK = 989.4e12


def flops_per_token(params, layers, d, t):
    return 6.0 * params + 12.0 * layers * d * t


def model_and_config(torch):
    from transformers import GPT2Config, GPT2LMHeadModel
    cfg = GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, attn_implementation="sdpa")
    model = GPT2LMHeadModel(cfg).cuda()
    return model, cfg


def train(torch, batch, precision, steps=5):
    import torch.nn.functional as F
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    torch.backends.cudnn.allow_tf32 = precision == "tf32"
    model, cfg = model_and_config(torch)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1, fused=True)
    t = cfg.n_positions
    x = torch.randint(0, cfg.vocab_size, (batch, t), device="cuda")
    y = torch.randint(0, cfg.vocab_size, (batch, t), device="cuda")

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = model(x).logits
        loss = F.cross_entropy(logits.float().view(-1, cfg.vocab_size), y.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(2):
        step()
    times = []
    for _ in range(steps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        step()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    ms = statistics.median(times)
    params = sum(p.numel() for p in model.parameters())
    tok_s = batch * t / (ms / 1e3)
    flops = flops_per_token(params, cfg.n_layer, cfg.n_embd, t) * tok_s
    peak = BF16_PEAK if precision == "bf16" else TF32_PEAK
    out = dict(precision=precision, batch=batch, step_ms_median=ms, tokens_per_s=tok_s,
               model_tflops=flops / 1e12, mfu=flops / peak, params=params,
               peak_memory_gb=torch.cuda.max_memory_allocated() / 1e9)
    del model, opt
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    return out


def sample(torch, sequences=64, new_tokens=256, prompt=32):
    torch.backends.cuda.matmul.allow_tf32 = True
    model, cfg = model_and_config(torch)
    model.eval()
    g = torch.Generator(device="cuda").manual_seed(5)
    ids = torch.randint(0, cfg.vocab_size, (sequences, prompt), device="cuda", generator=g)
    starts = torch.randint(0, 8, (sequences,), device="cuda", generator=g)
    mask = (torch.arange(prompt, device="cuda")[None, :] >= starts[:, None]).long()
    kw = dict(attention_mask=mask, do_sample=True, top_k=0, top_p=1.0, temperature=1.0, pad_token_id=0, use_cache=True)
    with torch.no_grad():
        model.generate(ids, max_new_tokens=16, min_new_tokens=16, **kw)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = model.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, **kw)
        torch.cuda.synchronize()
        s = time.perf_counter() - t0
    assert out.shape[1] == prompt + new_tokens, out.shape
    return dict(precision="tf32", sequences=sequences, new_tokens=new_tokens, seconds=s,
                tokens_per_s=sequences * new_tokens / s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--java", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--skip-torch", action="store_true")
    args = ap.parse_args()
    with open(args.java) as f:
        report = json.load(f)
    torch_report = {}
    try:
        if args.skip_torch:
            raise RuntimeError("skipped (--skip-torch)")
        import torch
        torch_report["version"] = torch.__version__
        jt = report.get("training") or {}
        batch = int(jt.get("batch", 32))
        for precision in ("tf32", "bf16"):
            try:
                torch_report["training_" + precision] = train(torch, batch, precision)
            except torch.cuda.OutOfMemoryError as e:
                torch.cuda.empty_cache()
                torch_report["training_" + precision] = {"batch": batch, "error": "out of memory: " + str(e)[:300]}
        torch_report["sampling"] = sample(torch)
    except Exception as e:  # the Java results still count
        import traceback
        torch_report["error"] = traceback.format_exc()[-3000:]
    report["torch"] = torch_report

    jt, js = report.get("training") or {}, report.get("sampling") or {}
    tt, ts = torch_report.get("training_tf32") or {}, torch_report.get("sampling") or {}
    corr = report.get("correctness") or {}
    targets = {}
    if "tokens_per_s" in jt and "tokens_per_s" in tt:
        r = jt["tokens_per_s"] / tt["tokens_per_s"]
        targets["training_vs_torch_eager"] = dict(ratio=r, target=0.8, met=r >= 0.8)
    if "mfu" in jt:
        targets["training_mfu"] = dict(value=jt["mfu"], target=0.30, met=jt["mfu"] >= 0.30)
    gemm = (report.get("gemm") or {}).get("tf32_tflops")
    if gemm and "model_tflops" in jt:
        # the machine's own ceiling: model FLOP/s over what cuBLAS reaches on an 8192^3 TF32 product here
        report["training_vs_measured_gemm"] = jt["model_tflops"] / gemm
    if "tokens_per_s" in js and "tokens_per_s" in ts:
        r = js["tokens_per_s"] / ts["tokens_per_s"]
        targets["sampling_vs_torch_eager"] = dict(ratio=r, target=1.0, met=r >= 1.0)
    targets["correctness"] = dict(checks=corr.get("checks"), failed=corr.get("failed"),
                                  met=corr.get("failed") == 0 and not report.get("failures"))
    report["targets"] = targets
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)

    print("\n%-28s %14s %14s" % ("", "java/cuda", "pytorch eager"))
    print("%-28s %14s %14s" % ("training tokens/s (tf32)", fmt(jt.get("tokens_per_s")), fmt(tt.get("tokens_per_s"))))
    print("%-28s %14s %14s" % ("training MFU", fmt(jt.get("mfu"), "%.3f"), fmt(tt.get("mfu"), "%.3f")))
    print("%-28s %14s %14s" % ("training bf16 tokens/s", "-", fmt((torch_report.get("training_bf16") or {}).get("tokens_per_s"))))
    print("%-28s %14s %14s" % ("sampling tokens/s", fmt(js.get("tokens_per_s")), fmt(ts.get("tokens_per_s"))))
    print("gemm:", report.get("gemm"))
    for name, t in targets.items():
        print("target %-26s %s" % (name, t))
    if report.get("failures"):
        print("failed sections:", list(report["failures"]))
    return 0


def fmt(v, f="%.0f"):
    return "-" if v is None else f % v


if __name__ == "__main__":
    sys.exit(main())

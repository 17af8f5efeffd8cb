package org.sparkrlhf.sampling;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.sparkrlhf.model.Decoder;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.model.KvCache;

/**
 * Batched autoregressive sampling with a KV cache. Prompts of different lengths are left-padded
 * to a common column; each row keeps its own positions and its own random generator (seeded per
 * sequence), so a sequence's sample does not depend on which other sequences share its batch.
 */
public final class Sampler {
    private final Gpt model;
    private final Decoder decoder;
    private final int padToken;

    /** @param padToken any valid id; it fills left padding and finished rows and is never attended to */
    public Sampler(Gpt model, int padToken) {
        if (!model.config().has(Head.LM)) throw new IllegalArgumentException("sampling needs a model with an LM head");
        if (padToken < 0 || padToken >= model.config().vocabSize())
            throw new IllegalArgumentException("padToken " + padToken + " is outside the vocabulary [0, " + model.config().vocabSize() + ")");
        this.model = model;
        this.decoder = new Decoder(model);
        this.padToken = padToken;
    }

    /** Sees each token as it is chosen (a chat streams them to the terminal). */
    public interface TokenListener {
        void onToken(int row, int token);
    }

    public Samples sample(int[][] prompts, long[] seeds, SamplingConfig cfg) {
        return sample(prompts, seeds, cfg, null);
    }

    /** As {@link #sample(int[][], long[], SamplingConfig)}, telling {@code listener} (if not null) each token as it is chosen. */
    public Samples sample(int[][] prompts, long[] seeds, SamplingConfig cfg, TokenListener listener) {
        int bsz = prompts.length, vocab = model.config().vocabSize();
        if (bsz == 0) throw new IllegalArgumentException("no prompts to sample from");
        if (seeds.length != bsz) throw new IllegalArgumentException("need one seed per prompt: " + bsz + " prompts, " + seeds.length + " seeds");
        if (cfg.returnValues() && !model.config().has(Head.VALUE))
            throw new IllegalArgumentException("returnValues needs a model with a value head");
        int width = 0;
        for (int b = 0; b < bsz; b++) {
            if (prompts[b].length == 0) throw new IllegalArgumentException("prompt " + b + " is empty; give at least one token (e.g. BOS)");
            width = Math.max(width, prompts[b].length);
        }
        int maxNew = Math.min(cfg.maxNewTokens(), model.config().contextLength() - width);
        if (maxNew <= 0)
            throw new IllegalArgumentException("a prompt of " + width + " tokens leaves no room in contextLength " + model.config().contextLength());

        int[] start = new int[bsz], grid = new int[bsz * width];
        Arrays.fill(grid, padToken);
        for (int b = 0; b < bsz; b++) {
            start[b] = width - prompts[b].length;
            System.arraycopy(prompts[b], 0, grid, b * width + start[b], prompts[b].length);
        }
        KvCache cache = new KvCache(model, bsz, width + maxNew, start);
        Decoder.Step step = decoder.extend(cache, grid, width);

        SplittableRandom[] rngs = new SplittableRandom[bsz];
        for (int b = 0; b < bsz; b++) rngs[b] = new SplittableRandom(seeds[b]);
        TokenChooser chooser = new TokenChooser(vocab);
        int[][] out = new int[bsz][maxNew];
        double[][] logps = new double[bsz][maxNew];
        double[][] vals = cfg.returnValues() ? new double[bsz][maxNew] : null;
        int[] len = new int[bsz];
        boolean[] done = new boolean[bsz], stopped = new boolean[bsz];
        int[] next = new int[bsz];
        double[] lp = new double[1];
        for (int t = 0; t < maxNew; t++) {
            int live = 0;
            for (int b = 0; b < bsz; b++) {
                next[b] = padToken;
                if (done[b]) continue;
                int row = b * step.columns() + step.columns() - 1; // the row's newest column
                int tok = chooser.choose(step.logits(), row * vocab, cfg, rngs[b], lp);
                out[b][len[b]] = tok;
                logps[b][len[b]] = lp[0];
                if (vals != null) vals[b][len[b]] = step.values().get(row);
                len[b]++;
                next[b] = tok;
                if (listener != null) listener.onToken(b, tok);
                if (cfg.isStop(tok)) {
                    done[b] = stopped[b] = true;
                } else if (len[b] == maxNew) {
                    done[b] = true;
                } else {
                    live++;
                }
            }
            if (live == 0) break;
            step = decoder.extend(cache, next, 1);
        }
        for (int b = 0; b < bsz; b++) {
            out[b] = Arrays.copyOf(out[b], len[b]);
            logps[b] = Arrays.copyOf(logps[b], len[b]);
            if (vals != null) vals[b] = Arrays.copyOf(vals[b], len[b]);
        }
        return new Samples(out, logps, vals, stopped);
    }

}

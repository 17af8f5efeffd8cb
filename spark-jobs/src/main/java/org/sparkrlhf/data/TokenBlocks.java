package org.sparkrlhf.data;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.tokenizer.Tokenizers;
import org.sparkrlhf.training.LmExample;

/**
 * Pre-training examples: each partition's documents are tokenized, joined with the end-of-text
 * token, and cut into blocks of contextLength + 1 tokens (inputs plus the shifted targets). The
 * tail shorter than a block is kept as a shorter example rather than dropped.
 */
public final class TokenBlocks {
    private TokenBlocks() {}

    public static JavaRDD<LmExample> of(JavaRDD<String> texts, String tokenizerSpec, int contextLength) {
        return texts.mapPartitions((Iterator<String> it) -> {
            Tokenizer tok = Tokenizers.create(tokenizerSpec);
            List<LmExample> out = new ArrayList<>();
            int block = contextLength + 1;
            int[] buf = new int[block];
            int fill = 0;
            while (it.hasNext()) {
                int[] ids = tok.encode(it.next());
                for (int i = 0; i <= ids.length; i++) {
                    buf[fill++] = i < ids.length ? ids[i] : tok.eosToken();
                    if (fill == block) {
                        out.add(LmExample.plain(buf.clone()));
                        fill = 0;
                    }
                }
            }
            if (fill >= 2) out.add(LmExample.plain(java.util.Arrays.copyOf(buf, fill)));
            return out.iterator();
        });
    }
}

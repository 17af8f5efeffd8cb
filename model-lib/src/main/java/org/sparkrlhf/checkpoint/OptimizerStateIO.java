package org.sparkrlhf.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import org.sparkrlhf.optim.AdamW;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

/** AdamW's state (step count and both moments) as a safetensors file, for exact resume. */
public final class OptimizerStateIO {
    private OptimizerStateIO() {}

    public static void write(OutputStream out, AdamW opt) throws IOException {
        long n = opt.firstMoment().size();
        SafeTensors.write(out, List.of(
                new SafeTensors.Entry("adamw.m", new long[]{n}, opt.firstMoment().toFloatArray()),
                new SafeTensors.Entry("adamw.v", new long[]{n}, opt.secondMoment().toFloatArray())),
                Map.of("adamw.step", Long.toString(opt.stepCount())));
    }

    public static void read(InputStream in, String source, AdamW opt) throws IOException {
        SafeTensors.Contents c = SafeTensors.read(in, source);
        SafeTensors.Entry m = c.tensors().get("adamw.m"), v = c.tensors().get("adamw.v");
        String step = c.metadata().get("adamw.step");
        if (m == null || v == null || step == null)
            throw new IOException(source + ": not an AdamW state file (needs tensors adamw.m, adamw.v and metadata adamw.step)");
        int n = opt.firstMoment().size();
        if (m.data().length != n || v.data().length != n)
            throw new IOException(source + ": optimizer state has " + m.data().length + " entries, the model has " + n + " parameters");
        opt.restore(Long.parseLong(step), wrap(m.data()), wrap(v.data()));
    }

    private static Tensor wrap(float[] data) {
        Tensor t = Tensor.zeros(DType.FLOAT32, data.length);
        t.copyFrom(data, 0);
        return t;
    }
}

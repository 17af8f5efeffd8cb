package org.sparkrlhf.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The kernel source as NVRTC sees it. Compiling needs NVRTC but no GPU: where libnvrtc.so.13 is on
 * LD_LIBRARY_PATH (bin/test fetches NVIDIA's nvidia-cuda-nvrtc wheel when it can) the source is
 * compiled to CUBIN for Hopper; elsewhere that test is skipped and says so.
 */
class CudaKernelsTest {

    @Test
    void everyLaunchedKernelIsDefinedWithCLinkage() throws Exception {
        String src = CudaKernels.source();
        Pattern def = Pattern.compile("extern \"C\" __global__ void (\\w+)\\(");
        java.util.Set<String> defined = new java.util.HashSet<>();
        Matcher m = def.matcher(src);
        while (m.find()) defined.add(m.group(1));
        Pattern use = Pattern.compile("launch(?:1d)?\\(\"(\\w+)\"");
        int uses = 0;
        for (String file : List.of("CudaGpt.java", "CudaDecoder.java", "CudaAdamW.java", "EmbeddingGroups.java")) {
            String code = java.nio.file.Files.readString(java.nio.file.Path.of("src/main/java/org/sparkrlhf/cuda", file));
            Matcher u = use.matcher(code);
            while (u.find()) {
                uses++;
                assertTrue(defined.contains(u.group(1)), file + " launches " + u.group(1) + ", which gpt_kernels.cu does not define");
            }
        }
        assertTrue(uses > 20, "found the launches");
    }

    @Test
    void optionsAskForMachineCodeOfTheDevicesArchitecture() {
        List<String> o = CudaKernels.options("sm_90");
        assertTrue(o.contains("--gpu-architecture=sm_90"), o.toString());
        assertTrue(o.stream().noneMatch(s -> s.contains("fast-math") || s.contains("compute_")), "CUBIN, exact maths: " + o);
    }

    @Test
    void compilesToCubinForHopperWhereNvrtcIsInstalled() {
        boolean nvrtc;
        try {
            org.bytedeco.javacpp.Loader.load(org.bytedeco.cuda.global.nvrtc.class);
            nvrtc = true;
        } catch (Throwable e) {
            nvrtc = false;
        }
        assumeTrue(nvrtc, "skipped: libnvrtc.so.13 is not on LD_LIBRARY_PATH (no CUDA toolkit or nvidia-cuda-nvrtc wheel here)");
        byte[] cubin = CudaKernels.compile(CudaKernels.source(), CudaKernels.options("sm_90"));
        assertEquals(0x7f, cubin[0]);
        assertEquals('E', cubin[1]); // an ELF image: machine code, not PTX
        assertTrue(cubin.length > 10_000, "cubin of " + cubin.length + " bytes");
    }
}

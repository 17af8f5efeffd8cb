package org.sparkrlhf.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** cluster-configs/gpu/discover-gpus.sh against fake nvidia-smi listings, as Spark runs it. */
class GpuDiscoveryScriptTest {
    static final Path SCRIPT = Path.of("../cluster-configs/gpu/discover-gpus.sh").toAbsolutePath().normalize();

    @TempDir
    Path bin;

    /** A fake nvidia-smi that prints {@code listing} and exits with {@code code}. */
    void fakeNvidiaSmi(String listing, int code) throws Exception {
        Path smi = bin.resolve("nvidia-smi");
        Files.writeString(smi, "#!/bin/sh\nprintf '" + listing + "'\nexit " + code + "\n");
        assertTrue(smi.toFile().setExecutable(true));
    }

    record Result(int code, String out, String err) {}

    Result run(Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", SCRIPT.toString());
        pb.environment().remove("CUDA_VISIBLE_DEVICES");
        pb.environment().put("PATH", bin + ":/usr/bin:/bin");
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(p.waitFor(), out, err);
    }

    static List<String> addresses(Result r) throws Exception {
        assertEquals(0, r.code(), r.err());
        JsonNode o = new ObjectMapper().readTree(r.out());
        assertEquals(Set.of("name", "addresses"), Set.of(StreamSupport.stream(((Iterable<String>) o::fieldNames).spliterator(), false).toArray()));
        assertEquals("gpu", o.get("name").asText());
        return StreamSupport.stream(o.get("addresses").spliterator(), false).map(JsonNode::asText).toList();
    }

    @Test
    void listsNvidiaSmiIndices() throws Exception {
        fakeNvidiaSmi("0\\n1\\n 2 \\n3\\n", 0);
        assertEquals(List.of("0", "1", "2", "3"), addresses(run(Map.of())));
    }

    @Test
    void cudaVisibleDevicesWinsAndIsRenumberedFromZero() throws Exception {
        fakeNvidiaSmi("0\\n1\\n2\\n3\\n", 0);
        assertEquals(List.of("0", "1"), addresses(run(Map.of("CUDA_VISIBLE_DEVICES", "2,3"))));
        assertEquals(List.of(), addresses(run(Map.of("CUDA_VISIBLE_DEVICES", ""))));
        assertEquals(List.of(), addresses(run(Map.of("CUDA_VISIBLE_DEVICES", "NoDevFiles"))));
    }

    @Test
    void aNodeWithoutGpusListsNone() throws Exception {
        fakeNvidiaSmi("", 0);
        assertEquals(List.of(), addresses(run(Map.of())));
    }

    @Test
    void missingOrFailingNvidiaSmiIsAnErrorThatSaysWhy() throws Exception {
        Result missing = run(Map.of());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("nvidia-smi not found") && missing.err().contains("install the NVIDIA driver"), missing.err());

        fakeNvidiaSmi("NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.\\n", 9);
        Result failing = run(Map.of());
        assertEquals(1, failing.code());
        assertTrue(failing.err().contains("could not communicate with the NVIDIA driver"), failing.err());

        fakeNvidiaSmi("0\\nNo devices were found\\n", 0);
        Result odd = run(Map.of());
        assertEquals(1, odd.code());
        assertTrue(odd.err().contains("unexpected line"), odd.err());
    }
}

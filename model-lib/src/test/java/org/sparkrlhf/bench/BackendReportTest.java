package org.sparkrlhf.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BackendReportTest {
    @Test
    void reportsTheCpuBackendAndAnAgreeingProduct() {
        String r = BackendReport.report();
        assertTrue(r.contains("backend: CpuBackend"), r);
        assertTrue(r.contains("devices: 1"), r);
        assertTrue(r.strip().endsWith(": ok"), r);
    }
}

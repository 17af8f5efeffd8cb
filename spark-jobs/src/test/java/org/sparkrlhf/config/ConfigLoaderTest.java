package org.sparkrlhf.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {
    static JobConfig load(String yaml, String... overrides) {
        return ConfigLoader.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "job.yaml", List.of(overrides));
    }

    @Test
    void fileAndOverridesLayOverDefaults() {
        JobConfig c = load("data:\n  train: /data/text.jsonl\ntrain:\n  steps: 70\n", "train.lr=0.01", "run.resume=true");
        assertEquals(70, c.train().steps());
        assertEquals(0.01, c.train().lr());
        assertEquals(64, c.train().globalBatch()); // default
        assertTrue(c.run().resume());
    }

    @Test
    void unknownKeysAreNamed() {
        ConfigException e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\ntrain:\n  lrr: 0.1\n"));
        assertTrue(e.getMessage().contains("unknown config key 'train.lrr'") && e.getMessage().contains("lr"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", "trian.steps=3"));
        assertTrue(e.getMessage().contains("unknown config key 'trian.steps'"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("bogus: 1\n"));
        assertTrue(e.getMessage().contains("unknown config key 'bogus'"), e.getMessage());
    }

    @Test
    void modelDeviceIsCpuOrCudaAndCudaIsRefusedWherePpoWouldNeedIt() {
        assertTrue(load("data:\n  train: x\n", "model.device=cuda").model().cuda());
        assertTrue(!load("data:\n  train: x\n").model().cuda(), "cpu by default");
        ConfigException e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", "model.device=gpu"));
        assertTrue(e.getMessage().contains("model.device must be cpu or cuda, got 'gpu'"), e.getMessage());
        JobConfig ppo = load("data:\n  train: x\n", "model.device=cuda", "ppo.prompts=p.jsonl", "ppo.reward=token-frequency:3");
        ConfigException p = assertThrows(ConfigException.class, ppo::validatePpo);
        assertTrue(p.getMessage().contains("run PPO with model.device: cpu"), p.getMessage());
    }

    @Test
    void loraSettingsAreValidatedWhereTheyApply() {
        JobConfig c = load("data:\n  train: x\n", "model.lora.rank=8", "model.lora.targets=[c_attn, c_fc]");
        assertTrue(c.gptConfig().lora().targets().equals(java.util.Set.of("c_attn", "c_fc")) && c.gptConfig().lora().scale() == 2.0);
        assertTrue(load("data:\n  train: x\n").gptConfig().lora() == null, "rank 0 by default: no adapters");
        ConfigException e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", "model.lora.rank=4", "model.lora.dropout=1.5",
                "model.lora.targets=[q_proj]"));
        assertTrue(e.getMessage().contains("model.lora.dropout must be in [0, 1)") && e.getMessage().contains("'q_proj' is not one of"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", "model.lora.rank=4", "model.device=cuda"));
        assertTrue(e.getMessage().contains("model.lora runs on the CPU backend so far"), e.getMessage());
        load("data:\n  train: x\n", "model.lora.rank=4", "ppo.prompts=p.jsonl", "ppo.reward=token-frequency:3").validatePpo(); // PPO takes adapters too
    }

    @Test
    void ppoAdvantageIsGaeGrpoOrRlooAndGroupsNeedTwoSamples() {
        String[] ppo = {"ppo.prompts=p.jsonl", "ppo.reward=token-frequency:3"};
        JobConfig gae = load("data:\n  train: x\n", ppo).validatePpo();
        assertTrue(gae.advantage() == org.sparkrlhf.rl.Advantage.GAE && gae.samplesPerPrompt() == 1, "PPO with a critic by default, one sample per prompt");
        JobConfig grpo = load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.advantage=grpo", "ppo.groupSize=8").validatePpo();
        assertTrue(grpo.advantage() == org.sparkrlhf.rl.Advantage.GRPO && grpo.samplesPerPrompt() == 8);
        ConfigException e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.advantage=reinforce").validatePpo());
        assertTrue(e.getMessage().contains("ppo.advantage must be gae (PPO with a critic), grpo or rloo (critic-free), got 'reinforce'"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.advantage=rloo", "ppo.groupSize=1").validatePpo());
        assertTrue(e.getMessage().contains("ppo.groupSize must be >= 2 for ppo.advantage=rloo"), e.getMessage());
    }

    @Test
    void ppoSafetyIsNoneLagrangianOrWeightedAndNeedsItsCostModel() {
        String[] ppo = {"ppo.prompts=p.jsonl", "ppo.reward=token-frequency:3"};
        assertTrue(load("data:\n  train: x\n", ppo).validatePpo().ppo().safetySettings() == null, "no constraint by default");
        var s = load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.safety=lagrangian", "ppo.harmlessness=rm", "ppo.costLimit=-0.5").validatePpo()
                .ppo().safetySettings();
        assertTrue(s.mode() == org.sparkrlhf.rl.SafetyConstraint.Mode.LAGRANGIAN && s.costLimit() == -0.5 && s.lambdaInit() == 1.0, s.toString());
        ConfigException e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.safety=strict").validatePpo());
        assertTrue(e.getMessage().contains("ppo.safety must be none, lagrangian"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.safety=weighted").validatePpo());
        assertTrue(e.getMessage().contains("ppo.safety=weighted needs ppo.harmlessness"), e.getMessage());
        e = assertThrows(ConfigException.class,
                () -> load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.safety=lagrangian", "ppo.harmlessness=rm", "ppo.lambdaInit=-1").validatePpo());
        assertTrue(e.getMessage().contains("ppo.lambdaInit must be >= 0"), e.getMessage());
        e = assertThrows(ConfigException.class,
                () -> load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.safety=lagrangian", "ppo.harmlessness=rm", "ppo.lambdaKp=-2").validatePpo());
        assertTrue(e.getMessage().contains("ppo.lambdaKp must be >= 0"), e.getMessage());
        assertTrue(Double.isNaN(s.harmfulCostLimit()) && !s.limitsHarmful(), "no limit of the harmful prompts' own by default");
        assertEquals(0.3, load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.safety=lagrangian", "ppo.harmlessness=rm", "ppo.harmfulCostLimit=0.3")
                .validatePpo().ppo().safetySettings().harmfulCostLimit(), 0);
        e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.harmfulCostLimit=0.3").validatePpo());
        assertTrue(e.getMessage().contains("ppo.harmfulCostLimit needs ppo.safety=lagrangian"), e.getMessage());
        e = assertThrows(ConfigException.class,
                () -> load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.safety=weighted", "ppo.harmlessness=rm", "ppo.harmfulCostLimit=0.3").validatePpo());
        assertTrue(e.getMessage().contains("ppo.harmfulCostLimit needs ppo.safety=lagrangian"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.klBeta=0.2", "ppo.klBetaMin=0.5").validatePpo());
        assertTrue(e.getMessage().contains("(ppo.klBetaMin) must be between 0 and beta's start (ppo.klBeta, 0.2), got 0.5"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.klRaiseHorizon=-5").validatePpo());
        assertTrue(e.getMessage().contains("ppo.klRaiseHorizon must be >= 0"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.klHorizon=512", "ppo.klRaiseHorizon=1024").validatePpo());
        assertTrue(e.getMessage().contains("(ppo.klRaiseHorizon) must be > 0 and <= ppo.klHorizon"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.maxUpdateKl=-0.01").validatePpo());
        assertTrue(e.getMessage().contains("ppo.maxUpdateKl must be >= 0 and finite (0: every update runs), got -0.01"), e.getMessage());
        assertEquals(0.0, load("data:\n  train: x\n", ppo[0], ppo[1]).ppo().maxUpdateKl(), "off by default");
        assertEquals(1234L, load("data:\n  train: x\n", ppo[0], ppo[1]).ppoSeed(), "PPO's seed is run.seed's by default");
        assertEquals(7L, load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.seed=7").ppoSeed());
        // the KL controller's target and horizon are config errors before the job starts, not failures inside it
        e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.klTarget=0").validatePpo());
        assertTrue(e.getMessage().contains("(ppo.klTarget) must be > 0, got 0.0"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.klHorizon=-5").validatePpo());
        assertTrue(e.getMessage().contains("(ppo.klHorizon) must be > 0, got -5.0"), e.getMessage());
        load("data:\n  train: x\n", ppo[0], ppo[1], "ppo.klMode=fixed", "ppo.klTarget=0").validatePpo();
    }

    @Test
    void badValuesAreNamedAllAtOnce() {
        ConfigException e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", "train.steps=0", "model.nHeads=3", "train.schedule=step"));
        assertTrue(e.getMessage().contains("train.steps must be > 0") && e.getMessage().contains("model.dModel (128) must be divisible by model.nHeads (3)")
                && e.getMessage().contains("train.schedule must be constant, linear or cosine"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("data:\n  train: x\n", "train.steps=many"));
        assertTrue(e.getMessage().contains("'train.steps'"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("train:\n  steps: 3\n"));
        assertTrue(e.getMessage().contains("data.train must name the training data"), e.getMessage());
    }
}

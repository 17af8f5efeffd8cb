package org.sparkrlhf.rl;

import java.util.List;

/**
 * The score PPO sees under a safety constraint: each response's reward and cost, each normalized by
 * its model's statistics, combined as {@link SafetyConstraint#objective} with this iteration's
 * lambda (plus, on the answers to harmful prompts, their own multiplier), and returned in the
 * reward's raw units (so the experience maker normalizes it as it does a plain reward). It keeps the
 * batch's normalized rewards and costs summed, and the harmful prompts' costs apart, for the
 * driver's multiplier updates and the run's log. One per rank and iteration; not thread-safe.
 */
public final class ConstrainedReward implements RewardFunction {
    private final RewardFunction reward, cost;
    private final ExperienceMaker.ScoreNorm rewardNorm, costNorm;
    private final double lambda, harmfulLambda;
    private final PromptSet harmful;
    private double rewardSum, costSum, harmfulCostSum;
    private long count, harmfulCount;

    /**
     * @param cost     scores whose higher values mean more harm (use {@link #negated} on a harmlessness model)
     * @param costNorm the cost scores' mean and standard deviation
     */
    public ConstrainedReward(RewardFunction reward, ExperienceMaker.ScoreNorm rewardNorm, RewardFunction cost, ExperienceMaker.ScoreNorm costNorm,
                             double lambda) {
        this(reward, rewardNorm, cost, costNorm, lambda, null, 0);
    }

    /** @param harmful the harmful prompts (null: none told apart), whose answers are scored with {@code lambda + harmfulLambda} */
    public ConstrainedReward(RewardFunction reward, ExperienceMaker.ScoreNorm rewardNorm, RewardFunction cost, ExperienceMaker.ScoreNorm costNorm,
                             double lambda, PromptSet harmful, double harmfulLambda) {
        this.reward = reward;
        this.cost = cost;
        this.rewardNorm = rewardNorm;
        this.costNorm = costNorm;
        this.lambda = lambda;
        this.harmful = harmful;
        this.harmfulLambda = harmfulLambda;
    }

    /** A harmlessness model's scores as costs: higher harmlessness is lower cost. */
    public static RewardFunction negated(RewardFunction harmlessness) {
        return (prompts, responses) -> {
            double[] s = harmlessness.score(prompts, responses);
            for (int i = 0; i < s.length; i++) s[i] = -s[i];
            return s;
        };
    }

    @Override
    public double[] score(List<int[]> prompts, List<int[]> responses) {
        double[] r = reward.score(prompts, responses), c = cost.score(prompts, responses), out = new double[r.length];
        for (int i = 0; i < r.length; i++) {
            double rn = (r[i] - rewardNorm.mean()) / rewardNorm.std(), cn = (c[i] - costNorm.mean()) / costNorm.std();
            rewardSum += rn;
            costSum += cn;
            boolean isHarmful = harmful != null && harmful.contains(prompts.get(i));
            if (isHarmful) {
                harmfulCostSum += cn;
                harmfulCount++;
            }
            out[i] = rewardNorm.mean() + rewardNorm.std() * SafetyConstraint.objective(rn, cn, isHarmful ? lambda + harmfulLambda : lambda);
        }
        count += r.length;
        return out;
    }

    /** Normalized rewards summed over the responses scored so far. */
    public double rewardSum() {
        return rewardSum;
    }

    /** Normalized costs summed over the responses scored so far. */
    public double costSum() {
        return costSum;
    }

    public long count() {
        return count;
    }

    /** Normalized costs of the answers to harmful prompts, summed. */
    public double harmfulCostSum() {
        return harmfulCostSum;
    }

    /** How many of the responses scored answered harmful prompts. */
    public long harmfulCount() {
        return harmfulCount;
    }
}

package org.sparkrlhf.rl;

import java.util.List;

/**
 * The score PPO sees under a safety constraint: each response's reward and cost, each normalized by
 * its model's statistics, combined as {@link SafetyConstraint#objective} with this iteration's
 * lambda, and returned in the reward's raw units (so the experience maker normalizes it as it does a
 * plain reward). It keeps the last batch's normalized rewards and costs summed, for the driver's
 * multiplier update and the run's log. One per rank and iteration; not thread-safe.
 */
public final class ConstrainedReward implements RewardFunction {
    private final RewardFunction reward, cost;
    private final ExperienceMaker.ScoreNorm rewardNorm, costNorm;
    private final double lambda;
    private double rewardSum, costSum;
    private long count;

    /**
     * @param cost     scores whose higher values mean more harm (use {@link #negated} on a harmlessness model)
     * @param costNorm the cost scores' mean and standard deviation
     */
    public ConstrainedReward(RewardFunction reward, ExperienceMaker.ScoreNorm rewardNorm, RewardFunction cost, ExperienceMaker.ScoreNorm costNorm,
                             double lambda) {
        this.reward = reward;
        this.cost = cost;
        this.rewardNorm = rewardNorm;
        this.costNorm = costNorm;
        this.lambda = lambda;
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
            out[i] = rewardNorm.mean() + rewardNorm.std() * SafetyConstraint.objective(rn, cn, lambda);
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
}

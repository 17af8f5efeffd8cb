package org.sparkrlhf.preference;

/**
 * Direct preference optimization (Rafailov et al., 2023) on one comparison, from the policy's and
 * the reference's summed log-probabilities of the chosen and rejected responses. With
 * h = (log pi(c) - log ref(c)) - (log pi(r) - log ref(r)):
 * <ul>
 *   <li>{@code SIGMOID} (DPO): -(1 - e) log sigmoid(beta h) - e log sigmoid(-beta h), where e is the label
 *       smoothing of conservative DPO (0: plain DPO);</li>
 *   <li>{@code IPO} (Azar et al., 2023): (h - 1 / (2 beta))^2.</li>
 * </ul>
 */
public final class DpoLoss {
    private DpoLoss() {}

    public enum Kind { SIGMOID, IPO }

    /** Validated settings: beta > 0, label smoothing in [0, 0.5). */
    public record Settings(double beta, Kind kind, double labelSmoothing) implements java.io.Serializable {
        public Settings {
            if (!(beta > 0)) throw new IllegalArgumentException("dpo.beta must be > 0, got " + beta);
            if (kind == null) throw new IllegalArgumentException("dpo.loss must be sigmoid or ipo");
            if (!(labelSmoothing >= 0 && labelSmoothing < 0.5)) throw new IllegalArgumentException("dpo.labelSmoothing must be in [0, 0.5), got " + labelSmoothing);
            if (kind == Kind.IPO && labelSmoothing > 0) throw new IllegalArgumentException("dpo.labelSmoothing applies to the sigmoid loss, not ipo");
        }
    }

    /** One comparison's loss, its derivatives by the chosen and rejected log-probs, and h (the log-ratio margin). */
    public record Result(double loss, double dChosen, double dRejected, double margin) {}

    public static Result of(double chosen, double rejected, double refChosen, double refRejected, Settings s) {
        double h = (chosen - refChosen) - (rejected - refRejected);
        if (s.kind() == Kind.IPO) {
            double e = h - 1 / (2 * s.beta());
            return new Result(e * e, 2 * e, -2 * e, h);
        }
        double z = s.beta() * h, eps = s.labelSmoothing();
        double loss = (1 - eps) * BradleyTerryLoss.softplus(-z) + eps * BradleyTerryLoss.softplus(z); // -log sigmoid(z) = softplus(-z)
        double dz = -(1 - eps) * BradleyTerryLoss.sigmoid(-z) + eps * BradleyTerryLoss.sigmoid(z);
        return new Result(loss, s.beta() * dz, -s.beta() * dz, h);
    }
}

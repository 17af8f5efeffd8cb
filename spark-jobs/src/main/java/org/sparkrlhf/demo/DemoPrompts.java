package org.sparkrlhf.demo;

import java.util.ArrayList;
import java.util.List;
import org.sparkrlhf.data.DataException;

/**
 * The demo's prompts, split four ways by position so that no prompt serves two purposes that must
 * stay apart: gold evaluation and reward-model evaluation prompts are never trained on.
 */
record DemoPrompts(List<String> evaluation, List<String> feedbackEval, List<String> feedbackTrain, List<String> policy) {

    /** Every 10th prompt (offset 0) is a gold-evaluation prompt, offset 1 a reward-model evaluation prompt; the rest train. */
    static DemoPrompts split(List<String> all, int evaluation, int feedbackEval, int feedbackTrain) {
        List<String> ev = new ArrayList<>(), fe = new ArrayList<>(), train = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) (i % 10 == 0 ? ev : i % 10 == 1 ? fe : train).add(all.get(i));
        if (ev.size() < evaluation || fe.size() < feedbackEval || train.size() < feedbackTrain)
            throw new DataException("the corpus gives " + all.size() + " prompts: " + ev.size() + " for gold evaluation (evaluation.prompts = "
                    + evaluation + "), " + fe.size() + " for reward-model evaluation (feedback.evalPrompts = " + feedbackEval + "), "
                    + train.size() + " for training (feedback.prompts = " + feedbackTrain + "); lower those settings");
        // PPO trains on every training prompt; the reward model's rankings use the first feedback.prompts of them (as in InstructGPT, the two overlap)
        return new DemoPrompts(ev.subList(0, evaluation), fe.subList(0, feedbackEval), train.subList(0, feedbackTrain), train);
    }
}

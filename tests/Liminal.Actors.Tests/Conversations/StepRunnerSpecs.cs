using System.Text;
using Akka.Actor;
using Liminal.Actors.Conversations;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Conversations;

public sealed class StepRunnerSpecs : LiminalTestKit
{
    private static readonly byte[] Order = Encoding.UTF8.GetBytes("order");

    /// <summary>Three steps that append their name to the input and count each completed side effect.</summary>
    private sealed class CountingSteps
    {
        public int[] SideEffects { get; } = new int[3];

        public List<string> Inputs { get; } = [];

        public ConversationStep Step(int index, Func<Task>? before = null) => async (input, _) =>
        {
            if (before is not null)
                await before();
            lock (Inputs)
                Inputs.Add(Encoding.UTF8.GetString(input));
            Interlocked.Increment(ref SideEffects[index]);
            return [.. input, .. Encoding.UTF8.GetBytes($"+{index}")];
        };
    }

    [Fact]
    public async Task A_message_killed_after_step_two_runs_only_step_three_after_restart_and_nothing_after_it_finished()
    {
        var counted = new CountingSteps();
        var neverCompletes = new TaskCompletionSource();
        var conversations = LiminalBus.Start(Sys, DefaultSettings).Conversations;
        var firstRun = new StepRunner(conversations, TimeSpan.FromSeconds(5))
            .RunAsync("c", "m", Order, [counted.Step(0), counted.Step(1), counted.Step(2, () => neverCompletes.Task)]);

        // Step 2 (index 1) is durable once its output shows in the conversation's state.
        AwaitAssert(() => Assert.Equal(2, Ask<ConversationSnapshot>(conversations, new GetConversationState("c")).CompletedSteps.Length));
        Shutdown(Sys);   // the process dies while step 3 is under way
        Assert.False(firstRun.IsCompletedSuccessfully);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var runner = new StepRunner(LiminalBus.Start(restarted, DefaultSettings).Conversations, TimeSpan.FromSeconds(10));
            var redelivered = await runner.RunAsync("c", "m", Order, [counted.Step(0), counted.Step(1), counted.Step(2)]);

            var finished = Assert.IsType<StepRunOutcome.Finished>(redelivered);
            Assert.Equal(1, finished.StepsRun);
            Assert.Equal("order+0+1+2", Encoding.UTF8.GetString(finished.Output));
            Assert.Equal([1, 1, 1], counted.SideEffects);
            // Step 3 was fed the stored output of step 2.
            Assert.Equal(["order", "order+0", "order+0+1"], counted.Inputs);

            var again = await runner.RunAsync("c", "m", Order, [counted.Step(0), counted.Step(1), counted.Step(2)]);
            Assert.IsType<StepRunOutcome.Skipped>(again);
            Assert.Equal([1, 1, 1], counted.SideEffects);
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    [Fact]
    public async Task A_failing_step_records_its_error_and_the_redelivery_resumes_at_that_step()
    {
        var counted = new CountingSteps();
        var conversations = LiminalBus.Start(Sys, DefaultSettings).Conversations;
        var runner = new StepRunner(conversations, TimeSpan.FromSeconds(10));
        var failOnce = true;
        ConversationStep flaky = (input, token) =>
        {
            if (!failOnce)
                return counted.Step(1)(input, token);
            failOnce = false;
            throw new TimeoutException("payment gateway");
        };

        var failed = await runner.RunAsync("c", "m", Order, [counted.Step(0), flaky, counted.Step(2)]);
        Assert.Equal(1, Assert.IsType<StepRunOutcome.Failed>(failed).StepIndex);
        Assert.Contains("payment gateway", Ask<ConversationSnapshot>(conversations, new GetConversationState("c")).Errored.Single().Error);

        var retried = await runner.RunAsync("c", "m", Order, [counted.Step(0), flaky, counted.Step(2)]);
        Assert.Equal(2, Assert.IsType<StepRunOutcome.Finished>(retried).StepsRun);
        Assert.Equal([1, 1, 1], counted.SideEffects);
    }

    [Fact]
    public async Task Invalid_ids_come_back_as_a_rejected_outcome()
    {
        var runner = new StepRunner(LiminalBus.Start(Sys, DefaultSettings).Conversations, TimeSpan.FromSeconds(10));

        var outcome = await runner.RunAsync("c", "", Order, [new CountingSteps().Step(0)]);

        Assert.Equal(ConversationRejections.InvalidMessageId, Assert.IsType<StepRunOutcome.Rejected>(outcome).Rejection.Reason);
    }
}

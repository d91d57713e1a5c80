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
            // The dead runner's lease was recorded with step 2: until it runs out a redelivery runs nothing.
            Assert.IsType<StepRunOutcome.InProgress>(await runner.RunAsync("c", "m", Order, [counted.Step(0), counted.Step(1), counted.Step(2)]));
            Assert.Equal([1, 1, 0], counted.SideEffects);
            Clock.Advance(DefaultSettings.ConversationLease);
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
    public async Task A_message_redelivered_while_its_steps_run_gets_InProgress_and_runs_no_step_twice()
    {
        var counted = new CountingSteps();
        var firstStepEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirstStep = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runner = new StepRunner(LiminalBus.Start(Sys, DefaultSettings).Conversations, TimeSpan.FromSeconds(10));
        var running = runner.RunAsync("c", "m", Order, [counted.Step(0, async () =>
        {
            firstStepEntered.TrySetResult();
            await releaseFirstStep.Task;
        }), counted.Step(1), counted.Step(2)]);
        await firstStepEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // The same message again (a redelivery after an ack timeout, a second consumer) while step 0 is under way.
        var redelivered = await runner.RunAsync("c", "m", Order, [counted.Step(0), counted.Step(1), counted.Step(2)]);

        var leaseEnd = Clock.GetUtcNow().Add(DefaultSettings.ConversationLease).ToUnixTimeMilliseconds();
        Assert.Equal(new StepRunOutcome.InProgress(leaseEnd), redelivered);
        releaseFirstStep.SetResult();
        Assert.Equal(3, Assert.IsType<StepRunOutcome.Finished>(await running.WaitAsync(TimeSpan.FromSeconds(10))).StepsRun);
        Assert.Equal([1, 1, 1], counted.SideEffects);
        Assert.IsType<StepRunOutcome.Skipped>(await runner.RunAsync("c", "m", Order, [counted.Step(0), counted.Step(1), counted.Step(2)]));
    }

    [Fact]
    public async Task A_runner_that_hangs_leaves_a_lease_that_runs_out_and_a_redelivery_resumes_after_its_last_recorded_step()
    {
        var counted = new CountingSteps();
        var hung = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondStepEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runner = new StepRunner(LiminalBus.Start(Sys, DefaultSettings).Conversations, TimeSpan.FromSeconds(10));
        _ = runner.RunAsync("c", "m", Order, [counted.Step(0), counted.Step(1, async () =>
        {
            secondStepEntered.TrySetResult();
            await hung.Task;   // never completes: the process is gone as far as the conversation can tell
        }), counted.Step(2)]);
        // Step 1 starts only once step 0's output is durable.
        await secondStepEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.IsType<StepRunOutcome.InProgress>(await runner.RunAsync("c", "m", Order, [counted.Step(0), counted.Step(1), counted.Step(2)]));

        Clock.Advance(DefaultSettings.ConversationLease);
        var resumed = await runner.RunAsync("c", "m", Order, [counted.Step(0), counted.Step(1), counted.Step(2)]);

        Assert.Equal(2, Assert.IsType<StepRunOutcome.Finished>(resumed).StepsRun);
        Assert.Equal([1, 1, 1], counted.SideEffects);
        // The resumed step was fed step 0's stored output.
        Assert.Equal(["order", "order+0", "order+0+1"], counted.Inputs);
    }

    /// <summary>Forwards to the conversations and remembers what was asked, like a client counting its round trips.</summary>
    private sealed class RecordingConversations(IActorRef conversations, List<Type> asked) : UntypedActor
    {
        public static Props Props(IActorRef conversations, List<Type> asked) =>
            Akka.Actor.Props.Create(() => new RecordingConversations(conversations, asked));

        protected override void OnReceive(object message)
        {
            lock (asked)
                asked.Add(message.GetType());
            conversations.Forward(message);
        }
    }

    [Fact]
    public async Task A_resume_reads_the_one_output_it_needs_not_the_whole_conversation()
    {
        var conversations = LiminalBus.Start(Sys, DefaultSettings).Conversations;
        // A conversation whose state is large: many finished messages with their outputs.
        foreach (var id in Enumerable.Range(0, 50).Select(i => $"done-{i}"))
        {
            Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", id));
            Ask<EventRecorded>(conversations, new RecordStepCompleted("c", id, 0, new byte[4096]));
            Ask<EventRecorded>(conversations, new RecordProcessingFinished("c", id));
        }
        Ask<RedeliveryDecision.Start>(conversations, new ReceiveMessage("c", "m"));
        Ask<EventRecorded>(conversations, new RecordStepCompleted("c", "m", 0, "order+0"u8.ToArray()));
        Ask<EventRecorded>(conversations, new RecordError("c", "m", "crashed after step 0"));
        var asked = new List<Type>();
        var counted = new CountingSteps();

        var outcome = await new StepRunner(Sys.ActorOf(RecordingConversations.Props(conversations, asked)), TimeSpan.FromSeconds(10))
            .RunAsync("c", "m", Order, [counted.Step(0), counted.Step(1)]);

        Assert.Equal("order+0+1", Encoding.UTF8.GetString(Assert.IsType<StepRunOutcome.Finished>(outcome).Output));
        lock (asked)
            Assert.Equal([typeof(ReceiveMessage), typeof(GetStepOutput), typeof(RecordStepCompleted), typeof(RecordProcessingFinished)], asked);
    }

    [Fact]
    public async Task Invalid_ids_come_back_as_a_rejected_outcome()
    {
        var runner = new StepRunner(LiminalBus.Start(Sys, DefaultSettings).Conversations, TimeSpan.FromSeconds(10));

        var outcome = await runner.RunAsync("c", "", Order, [new CountingSteps().Step(0)]);

        Assert.Equal(ConversationRejections.InvalidMessageId, Assert.IsType<StepRunOutcome.Rejected>(outcome).Rejection.Reason);
    }
}

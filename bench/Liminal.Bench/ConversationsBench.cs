using System.Diagnostics;
using Akka.Actor;
using HdrHistogram;
using Liminal.Actors;
using Liminal.Actors.Conversations;

namespace Liminal.Bench;

/// <summary>
/// Step checkpoints across many conversations, and how long a long conversation takes to come back by replay
/// with and without a snapshot.
/// </summary>
internal static class ConversationsBench
{
    private const int StepsPerMessage = 3;

    public static async Task RunAsync(BenchOptions options)
    {
        var conversations = options.Int("conversations", 1000);
        var steps = options.Int("steps", 60_000);
        var replayEvents = options.Int("replay-events", 100_000);

        await StepsPerSecondAsync(options, conversations, steps);
        if (replayEvents <= 0)
            return;
        await ReplayAsync(options.DatabasePath("replay"), replayEvents, snapshotEvery: int.MaxValue);
        await ReplayAsync(options.DatabasePath("replay-snapshot"), replayEvents, snapshotEvery: new LiminalSettings().SnapshotEvery);
    }

    /// <summary>One client per conversation, each processing messages of 3 steps one after another.</summary>
    private static async Task StepsPerSecondAsync(BenchOptions options, int conversations, int totalSteps)
    {
        var system = BenchSystem.Create(options.DatabasePath("conversations"), options.Hocon, options.PostgreSql);
        try
        {
            await RuntimeReport.WarmUpAsync("raw journal", _ => RawJournalBench.EventsPerSecondAsync(system, totalSteps / 5));
            var raw = await RawJournalBench.EventsPerSecondAsync(system, totalSteps);
            Console.WriteLine($"raw journal, 1 actor PersistAsync:     {raw,10:N0} events/s");
            // The same journal written the way conversations write it: one event per write, from as many actors as
            // there are conversations, each client waiting for its event to be durable before the next.
            await RuntimeReport.WarmUpAsync("raw closed loop", _ =>
                RawJournalBench.ClosedLoopEventsPerSecondAsync(system, conversations, conversations, totalSteps / 5));
            var rawClosedLoop = await RawJournalBench.ClosedLoopEventsPerSecondAsync(system, conversations, conversations, totalSteps * 2);
            Console.WriteLine($"raw journal, {conversations} actors, {conversations} closed-loop clients, 1 event per write: {rawClosedLoop,10:N0} events/s");
            var bus = LiminalBus.Start(system, new LiminalSettings());
            await RuntimeReport.WarmUpAsync("conversations", round =>
                RunClientsAsync(bus.Conversations, conversations, totalSteps / 5, $"warm-up-{round}", NewHistogram()));

            var latency = NewHistogram();
            var runtime = RuntimeReport.Start();
            using var totals = Liminal.Actors.Metrics.LiminalMetrics.For(system).Listen();
            var stopwatch = Stopwatch.StartNew();
            await RunClientsAsync(bus.Conversations, conversations, totalSteps, "run", latency);
            stopwatch.Stop();
            var recorded = latency.TotalCount;
            var stepsPerSecond = recorded / stopwatch.Elapsed.TotalSeconds;
            var events = recorded / StepsPerMessage * (StepsPerMessage + 3);
            Console.WriteLine($"conversations, {conversations} conversations: {stepsPerSecond,10:N0} steps recorded/s " +
                              $"({events / stopwatch.Elapsed.TotalSeconds:N0} events/s: received, started, {StepsPerMessage} steps, finished per message)");
            Console.WriteLine($"step record latency: p50 {Ms(latency, 50)} ms, p99 {Ms(latency, 99)} ms, p99.9 {Ms(latency, 99.9)} ms");
            Console.WriteLine(runtime);
            Console.WriteLine($"CPU per event: {runtime.CpuUsed.TotalMicroseconds / events:N1} µs (process CPU time over the span ÷ events written)");
            var (writes, writeSeconds) = totals.Histogram(Liminal.Actors.Metrics.LiminalMetrics.JournalWrite);
            if (writes > 0)
                Console.WriteLine($"journal: {writes:N0} writes by the entities, {writeSeconds * 1000 / writes:F2} ms mean from write to durable, " +
                                  $"{(double)events / writes:F1} events per write");
            Console.WriteLine($"steps/s vs raw events/s: {stepsPerSecond / raw:P0} (each step is one of six events of its message)");
            Console.WriteLine($"conversation events/s vs the raw closed loop of {conversations} actors: {events / stopwatch.Elapsed.TotalSeconds / rawClosedLoop:P0}");
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static LongConcurrentHistogram NewHistogram() => new(1, TimeStamp.Seconds(60), 3);

    /// <summary>
    /// One client per conversation, each taking messages of <see cref="StepsPerMessage"/> steps one after another
    /// (received, started, the steps, finished) until <paramref name="totalSteps"/> steps are recorded in all.
    /// </summary>
    private static async Task RunClientsAsync(IActorRef conversations, int clients, int totalSteps, string prefix, LongConcurrentHistogram latency)
    {
        var stepsRecorded = 0;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var conversation = $"{prefix}-conversation-{c}";
            for (var m = 0; Interlocked.Add(ref stepsRecorded, StepsPerMessage) <= totalSteps; m++)
            {
                var message = $"message-{m}";
                await conversations.Ask<RedeliveryDecision.Start>(new ReceiveMessage(conversation, message), TimeSpan.FromSeconds(30));
                await conversations.Ask<EventRecorded>(new RecordProcessingStarted(conversation, message), TimeSpan.FromSeconds(30));
                for (var step = 0; step < StepsPerMessage; step++)
                {
                    var started = Stopwatch.GetTimestamp();
                    await conversations.Ask<EventRecorded>(
                        new RecordStepCompleted(conversation, message, step, new byte[64]), TimeSpan.FromSeconds(30));
                    latency.RecordValue(Stopwatch.GetTimestamp() - started);
                }
                await conversations.Ask<EventRecorded>(new RecordProcessingFinished(conversation, message), TimeSpan.FromSeconds(30));
            }
        })));
    }

    /// <summary>Writes one conversation of about <paramref name="events"/> events, restarts, and times its recovery.</summary>
    private static async Task ReplayAsync(string path, int events, int snapshotEvery)
    {
        // Outputs are kept for every message so the log holds exactly the events written (no compaction events).
        var settings = new LiminalSettings { SnapshotEvery = snapshotEvery, ConversationKeepOutputsOfFinished = int.MaxValue };
        var writer = BenchSystem.Create(path);
        int written;
        try
        {
            written = await WriteLongConversationAsync(writer, LiminalBus.Start(writer, settings).Conversations, events);
        }
        finally
        {
            await writer.Terminate();
        }

        var reader = BenchSystem.Create(path);
        try
        {
            var stopwatch = Stopwatch.StartNew();
            var state = await LiminalBus.Start(reader, settings).Conversations
                .Ask<ConversationSnapshot>(new GetConversationState("long"), TimeSpan.FromMinutes(5));
            var label = snapshotEvery == int.MaxValue ? "no snapshot" : $"snapshot every {snapshotEvery}";
            Console.WriteLine($"replay of a conversation of {written:N0} events ({label}): {stopwatch.Elapsed.TotalMilliseconds:N0} ms " +
                              $"(recovered {state.Received.Length:N0} messages, last sequence number {state.LastSequenceNr:N0})");
        }
        finally
        {
            await reader.Terminate();
        }
    }

    /// <summary>Messages of received, one step, finished; all sent at once from one sender, so they arrive in order.</summary>
    private static async Task<int> WriteLongConversationAsync(ActorSystem system, IActorRef conversations, int events)
    {
        var messages = events / 3;
        var done = new TaskCompletionSource();
        var counter = system.ActorOf(Props.Create(() => new ReplyCounter(messages * 3, done)));
        for (var m = 0; m < messages; m++)
        {
            var message = $"message-{m}";
            conversations.Tell(new ReceiveMessage("long", message), counter);
            conversations.Tell(new RecordStepCompleted("long", message, 0, new byte[64]), counter);
            conversations.Tell(new RecordProcessingFinished("long", message), counter);
        }
        await done.Task.WaitAsync(TimeSpan.FromMinutes(10));
        var state = await conversations.Ask<ConversationSnapshot>(new GetConversationState("long"), TimeSpan.FromMinutes(1));
        return (int)state.LastSequenceNr;
    }

    private sealed class ReplyCounter : ReceiveActor
    {
        public ReplyCounter(int expected, TaskCompletionSource done)
        {
            var remaining = expected;
            Receive<ConversationRejected>(rejected => done.TrySetException(new InvalidOperationException(rejected.ToString())));
            ReceiveAny(_ =>
            {
                if (--remaining == 0)
                    done.TrySetResult();
            });
        }
    }

    private static string Ms(HistogramBase histogram, double percentile) =>
        (histogram.GetValueAtPercentile(percentile) * 1000.0 / Stopwatch.Frequency).ToString("F1");
}

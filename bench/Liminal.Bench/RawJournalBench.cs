using System.Diagnostics;
using Akka.Actor;
using Akka.Persistence;
using Liminal.Actors.Dedup;

namespace Liminal.Bench;

/// <summary>The journal's own ceiling, with plain persistent actors that do nothing but <c>PersistAsync</c>.</summary>
internal static class RawJournalBench
{
    // Every run writes persistence ids of its own: two live actors must never write one id, and a new actor must not
    // replay the events of earlier runs.
    private static int _runs;

    /// <summary>One actor, all events sent at once: the raw journal rate the dedup figures are compared with.</summary>
    public static async Task<double> EventsPerSecondAsync(ActorSystem system, int events)
    {
        var writer = system.ActorOf(Props.Create<RawWriter>($"bench-raw-writer-{Interlocked.Increment(ref _runs)}"));
        // Recovery and table creation happen before the clock starts.
        await writer.Ask<Written>(new WriteOne(), TimeSpan.FromMinutes(1));
        var stopwatch = Stopwatch.StartNew();
        var lastWritten = new TaskCompletionSource();
        var countDown = system.ActorOf(Props.Create(() => new CountDown(events, lastWritten)));
        for (var i = 0; i < events; i++)
            writer.Tell(new WriteOne(), countDown);
        await lastWritten.Task.WaitAsync(TimeSpan.FromMinutes(10));
        var rate = events / stopwatch.Elapsed.TotalSeconds;
        system.Stop(writer);
        system.Stop(countDown);
        return rate;
    }

    /// <summary>
    /// <paramref name="clients"/> clients each waiting for their event to be durable before sending the next,
    /// spread over <paramref name="writers"/> actors: how the journal scales with the number of writing actors.
    /// </summary>
    public static async Task<double> ClosedLoopEventsPerSecondAsync(ActorSystem system, int writers, int clients, int events)
    {
        var run = Interlocked.Increment(ref _runs);
        var refs = Enumerable.Range(0, writers)
            .Select(i => system.ActorOf(Props.Create<RawWriter>($"bench-closed-loop-{run}-{writers}-{i}")))
            .ToArray();
        foreach (var writer in refs)
            await writer.Ask<Written>(new WriteOne(), TimeSpan.FromMinutes(1));
        var next = -1;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < events)
                await refs[n % writers].Ask<Written>(new WriteOne(), TimeSpan.FromSeconds(30));
        })));
        var rate = events / stopwatch.Elapsed.TotalSeconds;
        foreach (var writer in refs)
            system.Stop(writer);
        return rate;
    }

    private sealed record WriteOne;

    private sealed record Written;

    /// <summary>Each command is persisted on its own, the way requests reach an actor one message at a time.</summary>
    private sealed class RawWriter(string persistenceId) : UntypedPersistentActor
    {
        public override string PersistenceId => persistenceId;

        protected override void OnRecover(object message) { }

        protected override void OnCommand(object message)
        {
            if (message is not WriteOne)
                return;
            var replyTo = Sender;
            // The same event type the dedup shards write, through the same serializer.
            PersistAsync(new KeyClaimed($"raw-{LastSequenceNr}", 0), _ => replyTo.Tell(new Written()));
        }
    }

    private sealed class CountDown : ReceiveActor
    {
        public CountDown(int expected, TaskCompletionSource done)
        {
            var remaining = expected;
            Receive<Written>(_ =>
            {
                if (--remaining == 0)
                    done.SetResult();
            });
        }
    }
}

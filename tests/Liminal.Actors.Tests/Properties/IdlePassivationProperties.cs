using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using Akka.TestKit;
using CsCheck;
using Liminal.Actors.Entities;
using Liminal.Actors.Offsets;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Properties;

/// <summary>
/// Idle passivation by the entity parent (b43497c), as a property over the offsets region: generated streams of
/// requests to three consumers' records interleaved with clock advances short of and past the idle timeout (the
/// region's sweep then passivates, while the next requests may already be arriving), full sweeps, writes that fail or
/// are rejected by the journal, and a write held in flight across a passivation while requests keep coming. Every
/// request gets exactly one reply, every reply agrees with what the earlier replies established (a consumer's stored
/// offset never moves back, an acknowledged commit or record is never lost, a read never shows a value no request
/// wrote, and once a read settles an unknown outcome, later reads agree with it), and after the last sweep and a
/// restart of the region every record reads back as before it.
/// </summary>
/// <remarks>
/// On Akka.Persistence.TestKit's in-memory journal, whose failed writes are never stored: the model still treats a
/// failure as an unknown outcome, as the contract says. Idleness is read on the fake clock; the sweep runs on real
/// time every quarter of the idle timeout, so a passivation races with the requests of the next steps.
/// </remarks>
public sealed class IdlePassivationProperties : FaultInjectionTestKit
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(10);
    private static readonly string[] Owners = ["a", "b", "c"];
    private static readonly string[] Streams = ["s1", "s2"];
    private static readonly string[] EventIds = ["e1", "e2", "e3"];

    /// <summary>Scenarios per run; <c>LIMINAL_PROPERTY_ITERATIONS</c> raises it (each sweep waits for the region's real-time tick).</summary>
    private static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("LIMINAL_PROPERTY_ITERATIONS"), out var n) && n > 0 ? Math.Max(25, n / 4) : 25;

    private readonly ScriptedWrites _writes = new();

    [Fact]
    public async Task Every_request_is_answered_once_and_every_acknowledged_reply_holds_across_idle_passivations_and_journal_faults()
    {
        await Journal.OnWrite.SetInterceptorAsync(_writes);
        Scenarios.Sample(Run, iter: Iterations, threads: 1, print: Print);
    }

    private abstract record Step;

    /// <summary>Requests sent one after another without waiting; then every reply is collected.</summary>
    private sealed record Burst(Request[] Requests) : Step;

    /// <summary>The clock moves; past the idle timeout, the next sweep passivates whoever it finds idle.</summary>
    private sealed record Advance(bool PastIdle) : Step;

    /// <summary>The clock moves past the idle timeout and the step waits until the sweep has passivated every record.</summary>
    private sealed record Sweep : Step;

    /// <summary>A write of <paramref name="Owner"/> the journal fails (or rejects), with requests behind it.</summary>
    private sealed record Faulty(string Owner, bool Reject, Request[] Requests) : Step;

    /// <summary>
    /// A write of <paramref name="Owner"/> held in flight (with the <paramref name="Before"/> requests behind it) while
    /// the sweep passivates the record; <paramref name="During"/> is sent while it is stopping, then the write lands.
    /// </summary>
    private sealed record HeldAcrossPassivation(string Owner, Request[] Before, Request[] During) : Step;

    /// <summary>A request with a placeholder owner (bound to the run's unique consumers when sent).</summary>
    private sealed record Request(string Owner, object Command);

    private static readonly Gen<Request> RequestGen = Gen.Select(Gen.OneOf(Owners), Gen.OneOf(Streams), Gen.Long[0, 8], Gen.OneOf(EventIds), Gen.Int[0, 9],
        (owner, stream, offset, eventId, kind) => new Request(owner, kind switch
        {
            < 4 => new CommitOffset(owner, stream, offset),
            < 6 => new GetOffset(owner, stream),
            < 8 => new RecordProcessed(owner, eventId),
            _ => new WasProcessed(owner, eventId),
        }));

    private static Gen<Request[]> RequestsOf(string? owner) =>
        (owner is null ? RequestGen : RequestGen.Select(r => new Request(owner, Rebind(r.Command, owner)))).Array[0, 6];

    private static readonly Gen<Step> StepGen = Gen.Frequency(
        (8, RequestsOf(null).Where(r => r.Length > 0).Select(r => (Step)new Burst(r))),
        (4, Gen.Bool.Select(past => (Step)new Advance(past))),
        (2, Gen.Const((Step)new Sweep())),
        (2, Gen.Select(Gen.OneOf(Owners), Gen.Bool, RequestsOf(null), (owner, reject, requests) => (Step)new Faulty(owner, reject, requests))),
        (2, Gen.OneOf(Owners).SelectMany(owner => Gen.Select(RequestsOf(owner), RequestsOf(null),
            (before, during) => (Step)new HeldAcrossPassivation(owner, before, during)))));

    private static readonly Gen<(long SnapshotEvery, Step[] Steps)> Scenarios =
        Gen.Select(Gen.OneOf(1L, 3L, 1_000L), StepGen.Array[1, 10]);

    private void Run((long SnapshotEvery, Step[] Steps) scenario)
    {
        var run = $"r{Guid.NewGuid():N}"[..9];
        var model = new Model();
        var probes = new List<TestProbe>();
        var settings = new OffsetsSettings(scenario.SnapshotEvery, IdleTimeout, TimeSpan.FromDays(3650), Clock);
        var parentSettings = new EntityParentSettings(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(200), 100);
        var region = Sys.ActorOf(OffsetsRegion.Props(settings, parentSettings));
        var freshIds = new List<(string Owner, string EventId)>();
        try
        {
            for (var i = 0; i < scenario.Steps.Length; i++)
            {
                var where = $"step {i + 1}";
                switch (scenario.Steps[i])
                {
                    case Burst burst:
                        Check(where, Collect(Send(burst.Requests)));
                        break;
                    case Advance advance:
                        Clock.Advance(advance.PastIdle ? IdleTimeout : IdleTimeout / 2);
                        break;
                    case Sweep:
                        SweepAll(where);
                        break;
                    case Faulty faulty:
                    {
                        var fresh = Fresh(faulty.Owner, i);
                        _writes.Arm(Bind(fresh.EventId), faulty.Reject ? WriteFault.Reject : WriteFault.Fail);
                        Check(where, Collect(Send([new Request(faulty.Owner, new RecordProcessed(faulty.Owner, fresh.EventId)), .. faulty.Requests])));
                        break;
                    }
                    case HeldAcrossPassivation held:
                    {
                        // Everything else quiet first, so that the record holding the write is the only one up.
                        SweepAll(where);
                        var fresh = Fresh(held.Owner, i);
                        var hold = _writes.Arm(Bind(fresh.EventId), WriteFault.Hold);
                        var before = Send([new Request(held.Owner, new RecordProcessed(held.Owner, fresh.EventId)), .. held.Before]);
                        if (!hold.Reached.Task.Wait(ReplyTimeout))
                            throw new PropertyViolation($"{where}: the held write never reached the journal");
                        // The requests behind the held one may be handed over after a first advance: the clock moves on until the sweep has found the record idle.
                        AwaitAssert(() =>
                        {
                            Clock.Advance(IdleTimeout);
                            Assert.Equal(new EntityStats(1, 1), Stats());
                        }, ReplyTimeout, TimeSpan.FromMilliseconds(20));
                        var during = Send(held.During);
                        hold.Release.TrySetResult();
                        Check(where, [.. Collect(before), .. Collect(during)]);
                        break;
                    }
                }
            }

            SweepAll("the last sweep");
            var reads = Reads();
            var beforeRestart = Collect(Send(reads));
            Check("the reads after the last sweep", beforeRestart);
            Watch(region);
            Sys.Stop(region);
            ExpectTerminated(region, ReplyTimeout);
            region = Sys.ActorOf(OffsetsRegion.Props(settings, parentSettings));
            var afterRestart = Collect(Send(reads));
            var changed = beforeRestart.Zip(afterRestart, (first, second) => (First: first, Second: second)).Where(p => !Equals(p.First.Reply, p.Second.Reply)).ToList();
            if (changed.Count > 0)
                throw new PropertyViolation($"after a restart of the region: {string.Join("; ", changed.Select(p => $"{Describe(p.First.Command)} was {Describe(p.First.Reply)}, now {Describe(p.Second.Reply)}"))}");
            foreach (var probe in probes.Where(p => p.HasMessages))
                throw new PropertyViolation($"a request got more than one reply: {Describe(probe.ReceiveOne(TimeSpan.Zero)!)}");
        }
        finally
        {
            Sys.Stop(region);
            foreach (var probe in probes)
                Sys.Stop(probe.Ref);
        }

        string Bind(string name) => $"{run}-{name}";

        (string Owner, string EventId) Fresh(string owner, int step)
        {
            var fresh = (owner, $"fresh{step}");
            freshIds.Add(fresh);
            return fresh;
        }

        object Bound(object command) => command switch
        {
            CommitOffset c => c with { Consumer = Bind(c.Consumer) },
            GetOffset c => c with { Consumer = Bind(c.Consumer) },
            RecordProcessed c => c with { Pipeline = Bind(c.Pipeline), EventId = Bind(c.EventId) },
            WasProcessed c => c with { Pipeline = Bind(c.Pipeline), EventId = Bind(c.EventId) },
            _ => command,
        };

        List<(object Command, TestProbe Probe)> Send(IEnumerable<Request> requests)
        {
            var sent = new List<(object, TestProbe)>();
            foreach (var request in requests)
            {
                var probe = CreateTestProbe();
                probes.Add(probe);
                region.Tell(Bound(request.Command), probe.Ref);
                sent.Add((request.Command, probe));
            }
            return sent;
        }

        List<(object Command, object Reply)> Collect(List<(object Command, TestProbe Probe)> sent) =>
        [
            .. sent.Select(s =>
            {
                try
                {
                    return (s.Command, s.Probe.ExpectMsg<object>(ReplyTimeout));
                }
                catch (Exception noReply) when (noReply is not PropertyViolation)
                {
                    throw new PropertyViolation($"no reply to {Describe(s.Command)} within {ReplyTimeout}");
                }
            }),
        ];

        void Check(string where, List<(object Command, object Reply)> replies)
        {
            foreach (var (command, reply) in replies)
            {
                if (model.Check(command, Unbound(reply)) is { } wrong)
                    throw new PropertyViolation($"{where}: {Describe(command)} was answered {Describe(reply)}; {wrong}");
            }
        }

        object Unbound(object reply)
        {
            string Strip(string name) => name.StartsWith(run + "-", StringComparison.Ordinal) ? name[(run.Length + 1)..] : name;
            return reply switch
            {
                OffsetCommitted r => r with { Consumer = Strip(r.Consumer) },
                OffsetRejected r => r with { Consumer = Strip(r.Consumer) },
                CurrentOffset r => r with { Consumer = Strip(r.Consumer) },
                ProcessedRecorded r => r with { Pipeline = Strip(r.Pipeline), EventId = Strip(r.EventId) },
                ProcessedStatus r => r with { Pipeline = Strip(r.Pipeline), EventId = Strip(r.EventId) },
                OffsetRequestRejected r => r with { Owner = Strip(r.Owner) },
                _ => reply,
            };
        }

        EntityStats Stats()
        {
            var probe = CreateTestProbe();
            region.Tell(GetEntityStats.Instance, probe.Ref);
            var stats = probe.ExpectMsg<EntityStats>(ReplyTimeout);
            Sys.Stop(probe.Ref);
            return stats;
        }

        void SweepAll(string where)
        {
            try
            {
                // A record restarted after a failed write starts anew (its idle time with it): the clock moves on until all are idle.
                AwaitAssert(() =>
                {
                    Clock.Advance(IdleTimeout);
                    Assert.Equal(new EntityStats(0, 0), Stats());
                }, ReplyTimeout, TimeSpan.FromMilliseconds(20));
            }
            catch (Exception notIdle)
            {
                throw new PropertyViolation($"{where}: the sweep did not passivate every idle record: {notIdle.Message}");
            }
        }

        List<Request> Reads() =>
        [
            .. Owners.SelectMany(owner => Streams.Select(stream => new Request(owner, new GetOffset(owner, stream)))),
            .. Owners.SelectMany(owner => EventIds.Select(id => new Request(owner, new WasProcessed(owner, id)))),
            .. freshIds.Select(f => new Request(f.Owner, new WasProcessed(f.Owner, f.EventId))),
        ];
    }

    private static object Rebind(object command, string owner) => command switch
    {
        CommitOffset c => c with { Consumer = owner },
        GetOffset c => c with { Consumer = owner },
        RecordProcessed c => c with { Pipeline = owner },
        WasProcessed c => c with { Pipeline = owner },
        _ => command,
    };

    /// <summary>
    /// What the replies so far establish, per consumer and stream: the stored offset is <c>Floor</c> (null: none) or, if
    /// commits ended with an unknown outcome since, one of them; per pipeline and event id: recorded, not, or unknown.
    /// A reply that reads the state settles every unknown outcome it depends on.
    /// </summary>
    private sealed class Model
    {
        private readonly Dictionary<(string, string), (long? Floor, HashSet<long> Pending)> _offsets = [];
        private readonly Dictionary<(string, string), Recorded> _processed = [];

        private enum Recorded { No, Yes, Unknown }

        public string? Check(object command, object reply)
        {
            switch (command)
            {
                case CommitOffset c:
                {
                    var (floor, pending) = Offset(c.Consumer, c.Stream);
                    switch (reply)
                    {
                        case OffsetCommitted r when r == new OffsetCommitted(c.Consumer, c.Stream, c.Offset):
                            if (floor > c.Offset)
                                return $"{floor} is stored: a commit of {c.Offset} must be rejected";
                            Settle(c.Consumer, c.Stream, c.Offset);
                            return null;
                        case OffsetRejected r when (r.Consumer, r.Stream, r.Attempted) == (c.Consumer, c.Stream, c.Offset):
                            if (r.Stored <= c.Offset || (r.Stored != floor && !pending.Contains(r.Stored)))
                                return Stored(floor, pending);
                            Settle(c.Consumer, c.Stream, r.Stored);
                            return null;
                        case OffsetRequestRejected r when r.Owner == c.Consumer:
                            if (floor is null || c.Offset > floor)
                                pending.Add(c.Offset);
                            return null;
                    }
                    return "not an answer to this commit";
                }
                case GetOffset g:
                {
                    var (floor, pending) = Offset(g.Consumer, g.Stream);
                    switch (reply)
                    {
                        case CurrentOffset r when (r.Consumer, r.Stream) == (g.Consumer, g.Stream):
                            if (r.Offset != floor && !(r.Offset is { } read && pending.Contains(read)))
                                return Stored(floor, pending);
                            Settle(g.Consumer, g.Stream, r.Offset);
                            return null;
                        case OffsetRequestRejected r when r.Owner == g.Consumer:
                            return null;
                    }
                    return "not an answer to this read";
                }
                case RecordProcessed p:
                {
                    var key = (p.Pipeline, p.EventId);
                    switch (reply)
                    {
                        case ProcessedRecorded r when r == new ProcessedRecorded(p.Pipeline, p.EventId):
                            _processed[key] = Recorded.Yes;
                            return null;
                        case OffsetRequestRejected r when r.Owner == p.Pipeline:
                            if (_processed.GetValueOrDefault(key) != Recorded.Yes)
                                _processed[key] = Recorded.Unknown;
                            return null;
                    }
                    return "not an answer to this record";
                }
                case WasProcessed w:
                {
                    var key = (w.Pipeline, w.EventId);
                    var known = _processed.GetValueOrDefault(key);
                    switch (reply)
                    {
                        case ProcessedStatus r when (r.Pipeline, r.EventId) == (w.Pipeline, w.EventId):
                            if ((r.Processed && known == Recorded.No) || (!r.Processed && known == Recorded.Yes))
                                return $"the replies so far say it was {(known == Recorded.Yes ? "" : "not ")}recorded";
                            _processed[key] = r.Processed ? Recorded.Yes : Recorded.No;
                            return null;
                        case OffsetRequestRejected r when r.Owner == w.Pipeline:
                            return null;
                    }
                    return "not an answer to this read";
                }
            }
            return $"not a request of the scenario: {command}";
        }

        private (long? Floor, HashSet<long> Pending) Offset(string consumer, string stream) =>
            _offsets.TryGetValue((consumer, stream), out var known) ? known : _offsets[(consumer, stream)] = (null, []);

        /// <summary>The stored offset is now known to be exactly <paramref name="offset"/>: every unknown outcome is settled.</summary>
        private void Settle(string consumer, string stream, long? offset) => _offsets[(consumer, stream)] = (offset, []);

        private static string Stored(long? floor, HashSet<long> pending) =>
            $"the replies so far say the stored offset is {(floor is { } f ? f : "none")}" +
            (pending.Count > 0 ? $" or one of the unknown commits {string.Join(", ", pending.Order())}" : "");
    }

    private static string Describe(object message) => message switch
    {
        CommitOffset c => $"{c.Consumer}: CommitOffset({c.Stream}, {c.Offset})",
        GetOffset c => $"{c.Consumer}: GetOffset({c.Stream})",
        RecordProcessed c => $"{c.Pipeline}: RecordProcessed({c.EventId})",
        WasProcessed c => $"{c.Pipeline}: WasProcessed({c.EventId})",
        OffsetCommitted c => $"OffsetCommitted({c.Stream}, {c.Offset})",
        OffsetRejected r => $"OffsetRejected({r.Stream}, stored {r.Stored}, attempted {r.Attempted})",
        CurrentOffset c => $"CurrentOffset({c.Stream}, {(c.Offset is { } o ? o : "none")})",
        ProcessedRecorded p => $"ProcessedRecorded({p.EventId})",
        ProcessedStatus p => $"ProcessedStatus({p.EventId}, {p.Processed})",
        OffsetRequestRejected r => $"OffsetRequestRejected({r.Reason})",
        _ => message.ToString() ?? message.GetType().Name,
    };

    private static string Print((long SnapshotEvery, Step[] Steps) scenario)
    {
        string Requests(Request[] requests) => $"[{string.Join(", ", requests.Select(r => Describe(r.Command)))}]";
        return $"snapshot-every {scenario.SnapshotEvery}, idle timeout {IdleTimeout.TotalMilliseconds:0}ms\n" + string.Join("\n", scenario.Steps.Select((step, i) =>
            $"  {i + 1,2}. " + step switch
            {
                Burst b => $"burst {Requests(b.Requests)}",
                Advance a => $"advance the clock {(a.PastIdle ? "by the idle timeout" : "by half of it")}",
                Sweep => "sweep: advance by the idle timeout until every record is passivated",
                Faulty f => $"{f.Owner}: a write the journal {(f.Reject ? "rejects" : "fails")}, then {Requests(f.Requests)}",
                HeldAcrossPassivation h => $"{h.Owner}: a write held, behind it {Requests(h.Before)}; passivated; while it stops {Requests(h.During)}; the write lands",
                _ => step.ToString(),
            }));
    }

    private enum WriteFault { Fail, Reject, Hold }

    /// <summary>Faults armed per event id of an <see cref="EventProcessed"/>: the write of that event fails, is rejected, or is held.</summary>
    private sealed class ScriptedWrites : IJournalInterceptor
    {
        private readonly ConcurrentDictionary<string, Armed> _armed = new(StringComparer.Ordinal);

        public Armed Arm(string eventId, WriteFault fault) => _armed[eventId] = new Armed(fault);

        public async Task InterceptAsync(IPersistentRepresentation message)
        {
            if (message.Payload is not EventProcessed processed || !_armed.TryRemove(processed.EventId, out var armed))
                return;
            armed.Reached.TrySetResult();
            switch (armed.Fault)
            {
                case WriteFault.Hold:
                    await armed.Release.Task;
                    return;
                case WriteFault.Reject:
                    throw new TestJournalRejectionException("property: the journal rejects this write");
                default:
                    throw new TestJournalFailureException("property: the journal connection dropped during this write");
            }
        }
    }

    private sealed class Armed(WriteFault fault)
    {
        public WriteFault Fault { get; } = fault;

        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

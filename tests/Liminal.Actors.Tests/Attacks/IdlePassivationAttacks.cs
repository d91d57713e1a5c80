using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using Liminal.Actors.Channels;
using Liminal.Actors.Entities;
using Liminal.Actors.Offsets;
using Liminal.Actors.Persistence;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// Attacks on idle passivation by the entity parent (<see cref="EntityParent"/>'s sweep, b43497c): an entity the sweep
/// passivates while a write is in flight, and which then fails in a way other than the write (a bug that restarts
/// it), must still stop and come back, so that what its parent buffered for it meanwhile is answered; an idle timeout
/// too small to divide must not stop the region from starting.
/// </summary>
public sealed class IdlePassivationAttacks : FaultInjectionTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task An_entity_restarted_by_a_bug_while_it_passivates_still_stops_and_its_next_incarnation_answers_what_was_buffered()
    {
        var id = $"e{Guid.NewGuid():N}"[..9];
        var parent = Sys.ActorOf(Props.Create(() => new IdleParent(Clock)));
        Assert.Equal("written 1", Ask<string>(parent, new ToFaulty(id, "write")));

        // Its next write is held: the sweep passivates the entity while the write is in flight.
        var held = new HoldFirstWrite();
        await Journal.OnWrite.SetInterceptorAsync(held);
        var writing = CreateTestProbe();
        parent.Tell(new ToFaulty(id, "write, then fail to snapshot"), writing.Ref);
        await held.Held.Task.WaitAsync(Patience);
        Clock.Advance(IdleTimeout);
        AwaitAssert(() => Assert.Equal(1, Ask<EntityStats>(parent, GetEntityStats.Instance).Away), Patience);
        var buffered = CreateTestProbe();
        parent.Tell(new ToFaulty(id, "write"), buffered.Ref);

        // The write lands; the entity answers it, then throws building its snapshot (a bug) and is restarted.
        held.Release.SetResult();
        Assert.Equal("written 2", writing.ExpectMsg<string>(Patience));

        // The restarted instance owes nothing: it must stop as the passivation asked, and the request buffered for
        // its next incarnation is answered there.
        Assert.Equal("written 3", buffered.ExpectMsg<string>(Patience));
        Assert.Equal("written 4", Ask<string>(parent, new ToFaulty(id, "write")));
    }

    /// <summary>
    /// Any positive idle timeout passes the settings' validation, and a quarter of one below four ticks is a zero
    /// interval for the sweep's timer (a scheduler may refuse that): the region still starts, answers and passivates.
    /// </summary>
    [Fact]
    public void A_region_whose_idle_timeout_is_a_few_ticks_starts_answers_and_passivates()
    {
        var offsets = LiminalBus.StartOffsets(Sys, DefaultSettings with { OffsetsIdleTimeout = TimeSpan.FromTicks(3) });

        Assert.Equal(new OffsetCommitted("billing", "orders-0", 5), Ask<OffsetCommitted>(offsets, new CommitOffset("billing", "orders-0", 5)));
        Clock.Advance(TimeSpan.FromTicks(3));
        AwaitAssert(() => Assert.Equal(new EntityStats(0, 0), Ask<EntityStats>(offsets, GetEntityStats.Instance)), Patience, TimeSpan.FromMilliseconds(50));
        Assert.Equal(new CurrentOffset("billing", "orders-0", 5), Ask<CurrentOffset>(offsets, new GetOffset("billing", "orders-0")));
    }

    private sealed record ToFaulty(string Id, string Command);

    /// <summary>Every command is a write; after a write of "…fail to snapshot" building its snapshot throws once (a bug).</summary>
    private sealed class SnapshotFaultyEntity(string id) : PersistentEntity<MessageAppended>
    {
        private bool _failNextSnapshot;

        public override string PersistenceId { get; } = $"idle-faulty-{id}";

        protected override long SnapshotEvery => 1;

        protected override void RestoreSnapshot(object snapshot) { }

        protected override void Apply(MessageAppended @event) { }

        protected override object Snapshot()
        {
            if (!_failNextSnapshot)
                return "snapshot";
            _failNextSnapshot = false;
            throw new InvalidOperationException("injected: a bug building the snapshot");
        }

        protected override Conflict ConflictOf(object command) => Conflict.None;

        protected override void Decide(object command, IActorRef sender)
        {
            _failNextSnapshot |= command is "write, then fail to snapshot";
            Persist([new MessageAppended("{}"u8.ToArray(), "faulty", null, null)], command, sender, sequenceNr => $"written {sequenceNr}");
        }

        protected override object FailureFor(object command, string detail) => $"refused: {detail}";
    }

    private sealed class IdleParent(TimeProvider clock)
        : EntityParent(new Extractor(), new EntityParentSettings(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1), 100), clock)
    {
        protected override Props EntityProps(string entityId) => Props.Create(() => new SnapshotFaultyEntity(entityId));

        protected override object? Overloaded(object message) => "overloaded";

        protected override TimeSpan? PassivateIdleAfter => IdleTimeout;
    }

    private sealed class Extractor : IEntityMessageExtractor
    {
        public string? EntityId(object message) => (message as ToFaulty)?.Id;

        public object EntityMessage(object message) => ((ToFaulty)message).Command;
    }

    /// <summary>Holds the first write until released, then stores it: a slow database.</summary>
    private sealed class HoldFirstWrite : IJournalInterceptor
    {
        private int _taken;

        public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task InterceptAsync(IPersistentRepresentation message)
        {
            if (Interlocked.Exchange(ref _taken, 1) == 1)
                return;
            Held.TrySetResult();
            await Release.Task;
        }
    }
}

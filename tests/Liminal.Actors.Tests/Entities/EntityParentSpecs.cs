using Akka.Actor;
using Liminal.Actors.Entities;
using Liminal.Actors.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace Liminal.Actors.Tests.Entities;

/// <summary>The entity parent never loses a message while an entity passivates or restarts.</summary>
public sealed class EntityParentSpecs : LiminalTestKit
{
    private sealed record ToEntity(string Id, string Command);

    private sealed record Pong(string Id, int Incarnation);

    private sealed class Extractor : IEntityMessageExtractor
    {
        public string? EntityId(object message) => (message as ToEntity)?.Id;

        public object EntityMessage(object message) => ((ToEntity)message).Command;
    }

    private sealed class TestEntity : ReceiveActor, IWithTimers
    {
        private static int _incarnations;
        private readonly EntityIntake _intake = new();

        public TestEntity(string id, IActorRef observer)
        {
            var incarnation = Interlocked.Increment(ref _incarnations);
            Receive<string>(command => command == "ping", _ => Sender.Tell(new Pong(id, incarnation)));
            Receive<string>(command => command == "passivate", _ =>
            {
                Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate("stop"));
                observer.Tell("passivating");
            });
            Receive<string>(command => command is "stop" or "crash-stop", _ => Context.Stop(Self));
            // Its own timer keeps it receiving, as a persistent entity's lease or retention timers would.
            Receive<string>(command => command == "tick-yourself", _ => Timers.StartPeriodicTimer("tick", "tick", TimeSpan.FromMilliseconds(10)));
            Receive<string>(command => command == "tick", _ => { });
            Receive<StopPassivated>(_ => Context.Stop(Self));
        }

        public ITimerScheduler Timers { get; set; } = null!;

        // What every entity hosted by an EntityParent does (PersistentEntity does it for Liminal's own).
        protected override bool AroundReceive(Receive receive, object message) =>
            _intake.TryReport(message, Context) || base.AroundReceive(receive, _intake.Take(message, Context));

        public override void AroundPostStop()
        {
            _intake.Stopped(Context);
            base.AroundPostStop();
        }
    }

    private sealed class TestParent(IActorRef observer)
        : EntityParent(new Extractor(), new EntityParentSettings(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1), 100), TimeProvider.System)
    {
        protected override Props EntityProps(string entityId) => Props.Create(() => new TestEntity(entityId, observer));

        protected override object? Overloaded(object message) => "overloaded";
    }

    private sealed class IdlePassivatingParent(IActorRef observer, TimeProvider clock)
        : EntityParent(new Extractor(), new EntityParentSettings(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1), 100), clock)
    {
        public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(1);

        protected override Props EntityProps(string entityId) => Props.Create(() => new TestEntity(entityId, observer));

        protected override object? Overloaded(object message) => "overloaded";

        protected override TimeSpan? PassivateIdleAfter => IdleTimeout;
    }

    private IActorRef StartParent(IActorRef observer) => Sys.ActorOf(Props.Create(() => new TestParent(observer)));

    [Fact]
    public void A_message_sent_while_an_entity_passivates_reaches_its_next_incarnation()
    {
        var observer = CreateTestProbe();
        var parent = StartParent(observer.Ref);
        parent.Tell(new ToEntity("a", "ping"));
        var first = ExpectMsg<Pong>();

        parent.Tell(new ToEntity("a", "passivate"));
        // The entity's Passivate reached the parent's mailbox before this point, so the ping below is buffered.
        observer.ExpectMsg("passivating");
        parent.Tell(new ToEntity("a", "ping"));

        var second = ExpectMsg<Pong>();
        Assert.NotEqual(first.Incarnation, second.Incarnation);
        parent.Tell(GetEntityStats.Instance);
        Assert.Equal(new EntityStats(1, 0), ExpectMsg<EntityStats>());
    }

    [Fact]
    public void Messages_that_bounce_off_an_entity_that_stopped_unexpectedly_are_refused_typed_and_later_ones_reach_its_next_incarnation()
    {
        var parent = StartParent(CreateTestProbe().Ref);
        parent.Tell(new ToEntity("a", "ping"));
        var first = ExpectMsg<Pong>();

        parent.Tell(new ToEntity("a", "crash-stop"));
        // Handed over before the parent learns of the stop, never taken by the entity. Delivering them to the next
        // incarnation could put them behind messages sent after them, so each is refused with the typed reply.
        parent.Tell(new ToEntity("a", "ping"));
        parent.Tell(new ToEntity("a", "ping"));
        ExpectMsg("overloaded");
        ExpectMsg("overloaded");

        // The entity comes back after its backoff and answers what is sent from then on.
        AwaitAssert(() =>
        {
            parent.Tell(new ToEntity("a", "ping"));
            var pong = ExpectMsg<object>();
            Assert.True(pong is Pong p && p.Incarnation != first.Incarnation, $"{pong}");
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public void An_entity_handed_nothing_for_its_idle_timeout_is_passivated_however_busy_its_own_timers_keep_it()
    {
        var clock = new FakeTimeProvider();
        var parent = Sys.ActorOf(Props.Create(() => new IdlePassivatingParent(CreateTestProbe().Ref, clock)));
        parent.Tell(new ToEntity("a", "tick-yourself"));
        parent.Tell(new ToEntity("a", "ping"));
        var first = ExpectMsg<Pong>();

        clock.Advance(IdlePassivatingParent.IdleTimeout);
        AwaitAssert(() =>
        {
            parent.Tell(GetEntityStats.Instance);
            Assert.Equal(new EntityStats(0, 0), ExpectMsg<EntityStats>());
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));

        parent.Tell(new ToEntity("a", "ping"));
        Assert.NotEqual(first.Incarnation, ExpectMsg<Pong>().Incarnation);
    }
}

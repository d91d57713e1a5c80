using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.Host;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Client;
using Xunit.Abstractions;

namespace Liminal.Actors.Tests.Client;

/// <summary>
/// Issue 15 end to end: the real host as a process, a client with a durable consumer, SIGKILL of the host and a restart
/// on the same port and database. The test subscribes once, before the kill, and never again.
/// </summary>
public sealed class DurableConsumerHostKillSpecs(ITestOutputHelper output) : DurableConsumerHostKillSpecsBase(output)
{
    [Fact]
    public Task A_durable_consumer_of_a_client_receives_what_was_stored_before_a_SIGKILL_and_what_is_published_after_without_subscribing_again() =>
        KillAndRestartAsync();

    [Fact]
    public Task With_the_READMEs_recipe_every_side_effect_of_every_stored_order_happens_once_across_a_SIGKILL_of_the_host() =>
        RecipeAcrossAKillAsync();
}

/// <summary>The same with the host journaling to PostgreSQL (<c>.ci/run</c> provides the server).</summary>
public sealed class PostgreSqlDurableConsumerHostKillSpecs(ITestOutputHelper output) : DurableConsumerHostKillSpecsBase(output)
{
    [SkippableFact]
    public Task On_PostgreSQL_a_durable_consumer_of_a_client_receives_what_was_stored_before_a_SIGKILL_and_what_is_published_after_without_subscribing_again()
    {
        PostgreSqlServer.Require();
        return KillAndRestartAsync();
    }

    protected override IReadOnlyDictionary<string, string> Journal => PostgreSqlJournal;

    protected override string DedupNamespace => Unique;
}

public abstract class DurableConsumerHostKillSpecsBase(ITestOutputHelper output) : HostProcessSpecsBase(output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    // A restarted host takes seconds to start, the client then up to its 5 s association gate and 2 s between attempts.
    private static readonly TimeSpan AfterRestart = TimeSpan.FromSeconds(90);

    private Publish Order(string key) => new(Channel, new MessageEnvelope(OrderSchema.Order(key), "kill"), $"{Unique}-{key}");

    private static string[] KeyRange(int from, int count) => Enumerable.Range(from, count).Select(i => $"k{i}").ToArray();

    private void PublishAll(LiminalBus bus, IEnumerable<string> keys)
    {
        var publisher = CreateTestProbe();
        var sent = keys.Select(key => { bus.Channels.Tell(Order(key), publisher.Ref); return key; }).Count();
        Assert.All(publisher.ReceiveN(sent, Patience), reply => Assert.IsType<PublishAck>(reply));
    }

    protected async Task KillAndRestartAsync()
    {
        using var host = NewHost();
        host.Start();
        await host.WaitUntilReadyAsync();
        var bus = await LiminalClient.ConnectAsync(Sys, "127.0.0.1", host.RemotePort, DedupNamespace);
        var received = CreateTestProbe();
        var member = Sys.ActorOf(Props.Create(() => new Member(received.Ref)));
        bus.Channels.Tell(new SubscribeDurable(Channel, "billing", member, new ConsumerOptions()), TestActor);
        ExpectMsg<ConsumerSubscribed>(Patience);

        // Acked durably before the kill: never delivered again.
        PublishAll(bus, KeyRange(0, 10));
        var seenBeforeTheKill = received.ReceiveN(20, Patience).OfType<Received>().ToList();   // each delivery and its Acked
        // Stored before the kill and not acked: the restarted host must deliver them again.
        member.Tell(Member.Hold);
        PublishAll(bus, KeyRange(10, 10));
        var before = received.ReceiveWhile(TimeSpan.Zero, m => m as Received).OfType<Received>().ToList();
        host.Kill();
        member.Tell(Member.AckAll);
        host.Start();
        await host.WaitUntilReadyAsync();

        // Only the new incarnation's consumer actors are senders never seen before the kill.
        var oldSenders = seenBeforeTheKill.Concat(before).Select(r => r.From).ToHashSet();
        var redelivered = new HashSet<string>();
        while (!redelivered.SetEquals(KeyRange(10, 10)))
        {
            if (received.ExpectMsg<object>(AfterRestart) is Received r && !oldSenders.Contains(r.From))
                redelivered.Add(OrderSchema.OrderIdOf(r.Delivery));
        }
        PublishAll(bus, KeyRange(20, 10));
        var after = new HashSet<string>(redelivered);
        while (!after.IsSupersetOf(KeyRange(20, 10)))
        {
            if (received.ExpectMsg<object>(Patience) is Received r)
                after.Add(OrderSchema.OrderIdOf(r.Delivery));
        }
        TestOutput.WriteLine($"before the kill {before.Count} deliveries of the unacked ten; after the restart {after.Count} keys");

        Assert.Empty(after.Intersect(KeyRange(0, 10)));
        host.Kill();
    }

    /// <summary>
    /// The README's exactly-once recipe (<c>Fulfilment</c>, <c>ExactlyOnceSubscriber</c>) in this client process, the bus
    /// in the host process: the host is SIGKILLed while orders are being processed and started again. Every stored
    /// order ends with both its effects applied, each key applied once by the order system, and the consumer's floor at
    /// the last stored order.
    /// </summary>
    protected async Task RecipeAcrossAKillAsync()
    {
        using var host = NewHost();
        host.Start();
        await host.WaitUntilReadyAsync();
        var bus = await LiminalClient.ConnectAsync(Sys, "127.0.0.1", host.RemotePort, DedupNamespace);
        var orders = new CountingOrderSystem();
        await Liminal.Recipes.Fulfilment.SubscribeAsync(Sys, bus.Channels, bus.Conversations, Channel, orders);

        PublishAll(bus, KeyRange(0, 20));
        await orders.AppliedAtLeast(5).WaitAsync(AfterRestart);
        host.Kill();
        host.Start();
        await host.WaitUntilReadyAsync();
        // Published to the new incarnation through the same client, which reconnects by itself.
        await AwaitAssertAsync(() => PublishAll(bus, KeyRange(20, 5)), AfterRestart, TimeSpan.FromSeconds(1));
        await orders.AppliedAtLeast(2 * 25).WaitAsync(AfterRestart);

        await AwaitAssertAsync(() =>
        {
            bus.Channels.Tell(new GetConsumerInfo(Channel, "fulfilment"), TestActor);
            var partition = ExpectMsg<ConsumerInfo>(Patience).Partitions[0];
            Assert.Equal((25L, 25L, 0), (partition.AckFloor, partition.LastSequenceNr, partition.Pending));
        }, AfterRestart, TimeSpan.FromMilliseconds(500));
        var (applied, calls) = orders.Figures();
        TestOutput.WriteLine($"{applied.Count} effects applied from {calls} calls of the order system");
        // Exactly the two effects of each stored order, keyed by its position, and nothing else.
        var expected = Enumerable.Range(1, 25).SelectMany(n => new[] { $"{Channel}/0/{n}/reserve", $"{Channel}/0/{n}/notify" });
        Assert.Equal(expected.Order(), applied.Keys.Order());
        host.Kill();
    }

    /// <summary>An order system that applies each idempotency key once, as a unique key would, and counts the calls.</summary>
    private sealed class CountingOrderSystem : Liminal.Recipes.IOrderSystem
    {
        private readonly object _gate = new();
        private readonly Dictionary<string, int> _applied = [];
        private readonly List<(int Count, TaskCompletionSource Reached)> _waiting = [];
        private int _calls;

        public Task<byte[]> ReserveAsync(byte[] order, string idempotencyKey, CancellationToken cancellationToken) => Apply(idempotencyKey, order);

        public Task<byte[]> NotifyAsync(byte[] reservation, string idempotencyKey, CancellationToken cancellationToken) => Apply(idempotencyKey, reservation);

        public Task AppliedAtLeast(int count)
        {
            lock (_gate)
            {
                var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                if (_applied.Count >= count)
                    reached.SetResult();
                else
                    _waiting.Add((count, reached));
                return reached.Task;
            }
        }

        public (IReadOnlyDictionary<string, int> Applied, int Calls) Figures()
        {
            lock (_gate)
                return (new Dictionary<string, int>(_applied), _calls);
        }

        private Task<byte[]> Apply(string key, byte[] input)
        {
            lock (_gate)
            {
                _calls++;
                // Applied once per key: a second call with a key is answered, not applied again.
                _applied[key] = _applied.GetValueOrDefault(key) + 1;
                foreach (var waiting in _waiting.Where(w => _applied.Count >= w.Count).ToList())
                {
                    waiting.Reached.TrySetResult();
                    _waiting.Remove(waiting);
                }
            }
            return Task.FromResult(input);
        }
    }

    private sealed record Received(Delivery Delivery, IActorRef From);

    /// <summary>A consumer member that acks what it receives (unless told to hold) and tells the test everything.</summary>
    private sealed class Member(IActorRef test) : UntypedActor
    {
        public const string Hold = "hold";
        public const string AckAll = "ack-all";
        private bool _holding;

        protected override void OnReceive(object message)
        {
            switch (message)
            {
                case Hold:
                    _holding = true;
                    break;
                case AckAll:
                    _holding = false;
                    break;
                case Delivery delivery:
                    test.Tell(new Received(delivery, Sender));
                    if (!_holding)
                        Sender.Tell(new Ack(delivery.Channel, delivery.Consumer!, delivery.Partition, delivery.SequenceNr!.Value));
                    break;
                default:
                    test.Tell(message);   // Acked, AckRejected
                    break;
            }
        }
    }
}

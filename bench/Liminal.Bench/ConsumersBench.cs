using System.Diagnostics;
using System.Text;
using Akka.Actor;
using Liminal.Actors.Channels;

namespace Liminal.Bench;

/// <summary>
/// Durable consumers keeping up with publishers: one consumer with one member, then a 3-member group, each subscribed
/// (<see cref="DeliverFrom.New"/>) while 1000 publishers publish to one durable channel. Every member acks each delivery
/// to its sender; a message counts once its <see cref="Acked"/> (durable) is back.
/// </summary>
internal static class ConsumersBench
{
    public static async Task RunAsync(BenchOptions options)
    {
        var publishers = options.Int("publishers", 1000);
        var total = options.Int("publishes", 50_000);
        var system = BenchSystem.Create(options.DatabasePath("consumers"), options.Hocon, options.PostgreSql);
        try
        {
            var raw = await RawJournalBench.EventsPerSecondAsync(system, total);
            Console.WriteLine($"raw journal, 1 actor PersistAsync:        {raw,10:N0} events/s");
            var bus = BenchSystem.StartWithOrders(system);
            await bus.Channels.Ask<PublishAck>(new Publish(BenchSystem.Orders, Payload(-1)), TimeSpan.FromSeconds(30));

            foreach (var (consumer, members, messages) in new[] { ("warm-up", 1, 5_000), ("single", 1, total), ("group", 3, total) })
            {
                var acked = new AckCounter(messages);
                for (var m = 0; m < members; m++)
                {
                    var member = system.ActorOf(Props.Create(() => new AckingMember(acked)));
                    await bus.Channels.Ask<ConsumerSubscribed>(
                        new SubscribeDurable(BenchSystem.Orders, consumer, member, new ConsumerOptions { DeliverFrom = new DeliverFrom.New() }),
                        TimeSpan.FromSeconds(30));
                }

                var next = -1;
                var stopwatch = Stopwatch.StartNew();
                await Task.WhenAll(Enumerable.Range(0, publishers).Select(_ => Task.Run(async () =>
                {
                    while (Interlocked.Increment(ref next) < messages)
                        await bus.Channels.Ask<PublishAck>(new Publish(BenchSystem.Orders, Payload(next)), TimeSpan.FromSeconds(30));
                })));
                var published = stopwatch.Elapsed;
                await acked.All.WaitAsync(TimeSpan.FromMinutes(5));
                var consumed = stopwatch.Elapsed;
                await bus.Channels.Ask<ConsumerDeleted>(new DeleteConsumer(BenchSystem.Orders, consumer), TimeSpan.FromSeconds(30));
                // The first round warms the JIT, the journal's tables and the thread pool: not reported.
                if (consumer == "warm-up")
                    continue;
                Console.WriteLine($"consumer '{consumer}', {members} member(s), {publishers} publishers, {messages:N0} messages:");
                Console.WriteLine($"  publish  {messages / published.TotalSeconds,10:N0} msgs/s ({published.TotalSeconds:F1} s)");
                Console.WriteLine($"  consume  {messages / consumed.TotalSeconds,10:N0} delivered+acked msgs/s ({consumed.TotalSeconds:F1} s); " +
                                  $"lag back to 0 {(consumed - published).TotalMilliseconds:F0} ms after publishing stopped");
            }
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static MessageEnvelope Payload(int n) => new(Encoding.UTF8.GetBytes($$"""{"n":{{n}}}"""), "bench");

    private sealed class AckCounter(int expected)
    {
        private int _acked;
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task All => _all.Task;

        public void Acked()
        {
            if (Interlocked.Increment(ref _acked) == expected)
                _all.TrySetResult();
        }
    }

    private sealed class AckingMember : ReceiveActor
    {
        public AckingMember(AckCounter counter)
        {
            Receive<Delivery>(delivery => Sender.Tell(new Ack(delivery.Channel, delivery.Consumer!, delivery.Partition, delivery.SequenceNr!.Value)));
            Receive<Acked>(_ => counter.Acked());
        }
    }
}

using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using MessageEnvelope = Liminal.Actors.Channels.MessageEnvelope;
using Liminal.Actors.Channels;

namespace Liminal.Actors.Tests.TestSupport;

/// <summary>
/// Messages that name themselves (<c>{"key":..,"n":..}</c>), and what a user of the public protocol can read back:
/// a partition's log through <see cref="Replay"/>, a subscriber's deliveries up to a sentinel published after them.
/// </summary>
public static class ChannelReading
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>A JSON payload that carries <paramref name="key"/> (what the log is counted by) and a number.</summary>
    public static byte[] Payload(string? key, long n = 0) => JsonSerializer.SerializeToUtf8Bytes(new { key, n });

    /// <summary>A publish whose payload names its idempotency key.</summary>
    public static Publish Keyed(string channel, string key, string? partitionKey = null, long n = 0) =>
        new(channel, new MessageEnvelope(Payload(key, n), "shop"), key) { PartitionKey = partitionKey };

    /// <summary>The key a delivered payload names (null for an unkeyed message).</summary>
    public static string? KeyOf(Delivery delivery) =>
        JsonDocument.Parse(delivery.Envelope.Payload).RootElement.GetProperty("key").GetString();

    public static long NumberOf(Delivery delivery) =>
        JsonDocument.Parse(delivery.Envelope.Payload).RootElement.GetProperty("n").GetInt64();

    /// <summary>The receipt's JSON as text.</summary>
    public static string Text(Liminal.Actors.Dedup.ProcessingReceipt receipt) => Encoding.UTF8.GetString(receipt.Bytes);

    /// <summary>What a receipt says, checking it is exactly the JSON object <c>{"channel","partition","sequenceNr"}</c> of SPEC §2.4.</summary>
    public static (string? Channel, int Partition, long? SequenceNr) ReadReceipt(Liminal.Actors.Dedup.ProcessingReceipt receipt)
    {
        var json = JsonDocument.Parse(receipt.Bytes).RootElement;
        Assert.Equal(["channel", "partition", "sequenceNr"], json.EnumerateObject().Select(p => p.Name));
        var sequenceNr = json.GetProperty("sequenceNr");
        return (json.GetProperty("channel").GetString(), json.GetProperty("partition").GetInt32(),
            sequenceNr.ValueKind == JsonValueKind.Null ? null : sequenceNr.GetInt64());
    }

    /// <summary>Every message stored in one partition, read through <see cref="Replay"/>, in log order.</summary>
    public static List<Delivery> ReadLog(this TestKitBase kit, ActorSystem system, IActorRef channels, string channel, int partition)
    {
        var reader = kit.CreateTestProbe(system);
        channels.Tell(new Replay(channel, partition, 1, reader.Ref), reader.Ref);
        var log = new List<Delivery>();
        while (true)
        {
            switch (reader.ExpectMsg<object>(Patience))
            {
                case Delivery delivery:
                    log.Add(delivery);
                    break;
                case ReplayCompleted completed:
                    Assert.Equal(log.Count == 0 ? 0 : log[^1].SequenceNr, completed.LastSequenceNr);
                    system.Stop(reader.Ref);
                    return log;
                case var other:
                    Assert.Fail($"replay of {channel}/{partition} answered {other}");
                    break;
            }
        }
    }

    /// <summary>Every partition's log of a channel of <paramref name="partitions"/> partitions.</summary>
    public static List<Delivery> ReadAllLogs(this TestKitBase kit, ActorSystem system, IActorRef channels, string channel, int partitions) =>
        Enumerable.Range(0, partitions).SelectMany(p => kit.ReadLog(system, channels, channel, p)).ToList();

    /// <summary>
    /// What the subscribers were handed before now: an unkeyed sentinel is published to every partition (found through
    /// the acks' partitions), and each subscriber's deliveries are read up to the sentinels. A partition hands out its
    /// messages in sequence order, so anything fanned out for the publishes answered before is read; no waiting on time.
    /// Returns, per subscriber, its deliveries without the sentinels.
    /// </summary>
    public static List<List<Delivery>> DeliveredSoFar(this TestKitBase kit, ActorSystem system, IActorRef channels, string channel, int partitions,
        params TestProbe[] subscribers)
    {
        var publisher = kit.CreateTestProbe(system);
        var reached = new HashSet<int>();
        var sentinels = 0;
        for (var i = 0; reached.Count < partitions; i++)
        {
            Assert.True(i < 10_000, $"no sentinel reached every partition of {channel}");
            channels.Tell(new Publish(channel, new MessageEnvelope(Payload(null, -1 - i), "sentinel")) { PartitionKey = $"sentinel-{i}" }, publisher.Ref);
            reached.Add(publisher.ExpectMsg<PublishAck>(Patience).Partition);
            sentinels++;   // every sentinel is delivered, also one to a partition reached before
        }
        system.Stop(publisher.Ref);
        return subscribers.Select(subscriber =>
        {
            var delivered = new List<Delivery>();
            for (var seen = 0; seen < sentinels;)
            {
                var delivery = subscriber.ExpectMsg<Delivery>(Patience);
                if (delivery.Envelope.PublisherId == "sentinel")
                    seen++;
                else
                    delivered.Add(delivery);
            }
            return delivered;
        }).ToList();
    }
}

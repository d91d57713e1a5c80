using System.Diagnostics;
using Liminal.Actors.Tracing;

namespace Liminal.Actors.Channels;

/// <summary>The spans of a message after its <c>publish</c> span, each a child of the trace context the message carries.</summary>
internal static class ChannelSpans
{
    /// <summary>The write of a message to its partition, from <paramref name="startTime"/> (when it was handed to the journal) to now.</summary>
    public static void Store(string channel, int partition, MessageEnvelope envelope, long? sequenceNr, DateTimeOffset startTime, string? error = null)
    {
        if (LiminalTracing.Enabled)
            LiminalTracing.Record($"store {channel}", ActivityKind.Internal, LiminalTracing.ContextOf(envelope),
                LiminalTracing.Tags(channel, partition, sequenceNr), startTime, error);
    }

    /// <summary>A message handed to its subscribers.</summary>
    public static void Deliver(Delivery delivery, int subscribers)
    {
        if (!LiminalTracing.Enabled)
            return;
        var tags = LiminalTracing.Tags(delivery.Channel, delivery.Partition, delivery.SequenceNr);
        tags["liminal.subscribers"] = subscribers;
        LiminalTracing.Record($"deliver {delivery.Channel}", ActivityKind.Producer, LiminalTracing.ContextOf(delivery.Envelope), tags);
    }

    /// <summary>The publisher answered: stored (or handed out), or a duplicate of a stored key.</summary>
    public static void Ack(MessageEnvelope envelope, PublishAck ack)
    {
        if (!LiminalTracing.Enabled)
            return;
        var tags = LiminalTracing.Tags(ack.Channel, ack.Partition, ack.SequenceNr);
        tags["liminal.duplicate"] = ack.Duplicate;
        tags["liminal.delivered_count"] = ack.DeliveredCount;
        LiminalTracing.Record($"ack {ack.Channel}", ActivityKind.Internal, LiminalTracing.ContextOf(envelope), tags);
    }
}

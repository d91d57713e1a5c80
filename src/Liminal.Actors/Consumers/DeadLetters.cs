using System.Text.Json;
using Liminal.Actors.Channels;

namespace Liminal.Actors.Consumers;

/// <summary>
/// Dead-letter channels (SPEC §2.6): <c>{channel}.dlq</c> by default, durable, one partition, no schema; the suffix is
/// reserved. A dead letter's payload names where the message came from and embeds the original payload as JSON.
/// </summary>
public static class DeadLetters
{
    public const string Suffix = ".dlq";

    /// <summary>Bytes a dead letter adds around the original payload, at most; dead-letter channels accept that much more.</summary>
    public const int EnvelopeAllowance = 4096;

    /// <summary>The publisher of every dead letter; the original publisher is named inside it.</summary>
    public const string PublisherId = "liminal.dead-letters";

    public static string ChannelFor(string channel) => channel + Suffix;

    public static bool IsDeadLetterChannel(string channel) => channel.EndsWith(Suffix, StringComparison.Ordinal);

    /// <summary>The definition of the dead-letter channel of a durable channel.</summary>
    public static ChannelDefinition DefinitionFor(string channel) => new(ChannelFor(channel), Durable: true);

    /// <summary>
    /// The idempotency key of one message's dead letter: publishing it again after a crash (before the consumer stored
    /// that it was dead-lettered) is a duplicate, so there is exactly one dead letter per message and consumer.
    /// </summary>
    public static string KeyOf(string channel, string consumer, int partition, long sequenceNr) =>
        $"dlq/{channel.Length}:{channel}/{consumer.Length}:{consumer}/{partition}/{sequenceNr}";

    public static byte[] Payload(string channel, int partition, long sequenceNr, string consumer, int attempts, string reason, MessageEnvelope original)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(original.Payload.Length + 512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("channel", channel);
            writer.WriteNumber("partition", partition);
            writer.WriteNumber("sequenceNr", sequenceNr);
            writer.WriteString("consumer", consumer);
            writer.WriteNumber("attempts", attempts);
            writer.WriteString("reason", Truncate(reason));
            writer.WriteString("publisherId", original.PublisherId);
            writer.WritePropertyName("payload");
            // Stored messages passed the channel's JSON check when published: embedded as they are.
            writer.WriteRawValue(original.Payload, skipInputValidation: true);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>What a redrive re-publishes: the source channel, the original publisher and payload; null when the bytes are not a dead letter.</summary>
    public static (string Channel, string PublisherId, byte[] Payload)? Original(byte[] deadLetter)
    {
        try
        {
            using var document = JsonDocument.Parse(deadLetter);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("channel", out var channel) || channel.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("publisherId", out var publisher) || publisher.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("payload", out var payload))
                return null;
            return (channel.GetString()!, publisher.GetString()!, System.Text.Encoding.UTF8.GetBytes(payload.GetRawText()));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // The reason is the consumer's text: a dead letter must fit its channel's allowance whatever it says.
    private static string Truncate(string reason) =>
        reason.Length <= 1024 ? reason : reason[..(char.IsHighSurrogate(reason[1023]) ? 1023 : 1024)];
}

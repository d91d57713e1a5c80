using Akka.Actor;
using Liminal.Actors.Dedup;

namespace Liminal.Actors.Validation;

/// <summary>
/// The one home of what every id, key, name and payload entering the bus must be (SPEC §5). The actors that take
/// requests (in process or from Akka.Remote) and <c>Liminal.Client</c> before it sends one check them here, so a
/// malformed request gets a typed rejection naming the problem and nothing is stored for it.
/// </summary>
public static class InputRules
{
    /// <summary>The journal's <c>persistence_id</c> column: 255 characters on the SQL journals Liminal supports.</summary>
    public const int MaxPersistenceIdLength = 255;

    /// <summary>The default of <c>liminal.max-payload-bytes</c>.</summary>
    public const int DefaultMaxPayloadBytes = 256 * 1024;

    /// <summary>The range <c>liminal.max-payload-bytes</c> may be set in.</summary>
    public const int MinMaxPayloadBytes = 1024;

    public const int MaxMaxPayloadBytes = 16 * 1024 * 1024;

    /// <summary>The most partitions a channel may have.</summary>
    public const int MaxPartitions = 1024;

    /// <summary>Idempotency and partition keys (SPEC §2.2).</summary>
    public const int MaxKeyBytes = 1024;

    /// <summary>Largest receipt a dedup key stores, so one key cannot bloat a shard.</summary>
    public const int MaxReceiptBytes = 64 * 1024;

    /// <summary>Headers an envelope carries at most (SPEC §2.5).</summary>
    public const int MaxHeaders = 32;

    /// <summary>
    /// The UTF-8 bytes of an envelope's header names and values together, apart from <c>liminal.max-payload-bytes</c>:
    /// even escaped six bytes a character they fit the room <see cref="WireFrame.EnvelopeBytes"/> keeps beside the payload.
    /// </summary>
    public const int MaxHeadersBytes = 4 * 1024;

    /// <summary>A header name: ASCII letters, digits, '.', '_', '-' (<c>traceparent</c>, <c>x-tenant</c>).</summary>
    public static TextRule HeaderName { get; } = TextRule.Name("header name", 128, "._-");

    /// <summary>A header value: well-formed text without control characters.</summary>
    public static TextRule HeaderValue { get; } = TextRule.Utf8Id("header value", MaxHeadersBytes);

    public static TextRule ConversationId { get; } = TextRule.PersistenceIdPart("conversation id", "conversation-");

    public static TextRule MessageId { get; } = TextRule.Text("message id", 1024);

    public static TextRule ConsumerName { get; } = TextRule.PersistenceIdPart("consumer or pipeline name", "offsets-");

    public static TextRule StreamName { get; } = TextRule.Text("stream name", 1024);

    public static TextRule EventId { get; } = TextRule.Text("event id", 1024);

    public static TextRule IdempotencyKey { get; } = TextRule.Utf8Text("idempotency key", MaxKeyBytes);

    public static TextRule PartitionKey { get; } = TextRule.Utf8Text("partition key", MaxKeyBytes);

    public static TextRule PublisherId { get; } = TextRule.Text("publisher id", 256);

    /// <summary>Who holds a dedup claim (the channel publish path gave its bus incarnation).</summary>
    public static TextRule Owner { get; } = TextRule.Text("owner", 256);

    /// <summary>A recorded error: text stored in the conversation, as large as a payload at most.</summary>
    public static TextRule ErrorText(int maxPayloadBytes) => TextRule.Utf8Text("error", maxPayloadBytes);

    public static TextRule CorrelationId { get; } = TextRule.Text("correlation id", 256);

    public static TextRule CausationId { get; } = TextRule.Text("causation id", 256);

    /// <summary>
    /// Part of <c>channel-{name}-{partition}</c> and of an actor name. A channel a user defines has at most
    /// <see cref="MaxDefinedChannelName"/> characters; the bus adds <c>.dlq</c> to name its dead-letter channel.
    /// </summary>
    public static TextRule ChannelName { get; } = TextRule.Name("channel name", MaxDefinedChannelName + 4, "._-");

    /// <summary>The longest name a user may give a channel.</summary>
    public const int MaxDefinedChannelName = 100;

    /// <summary>Part of <c>consumer-{channel}-{consumer}-{partition}</c>: a durable consumer's name.</summary>
    public static TextRule DurableConsumerName { get; } = TextRule.Id("consumer name", 120);

    /// <summary>The text of a <c>Term</c>, stored in the dead letter (cut to 1024 characters there).</summary>
    public static TextRule TermReason { get; } = TextRule.Text("reason", 4096);

    /// <summary>A schema file path: no control characters (a NUL cannot name a file).</summary>
    public static TextRule SchemaPath { get; } = TextRule.Id("schema path", 4096);

    /// <summary>Part of <c>dedup-{namespace}-{shard}</c> and of the actor name <c>liminal-dedup-{namespace}</c>: no '-', no '/', no space.</summary>
    public static TextRule DedupNamespace { get; } = TextRule.Name("dedup namespace", 100, "._");

    /// <summary>What is wrong with a payload (a published message, a step output): missing, or over <paramref name="maxBytes"/>.</summary>
    public static string? PayloadProblem(string what, byte[]? bytes, int maxBytes) =>
        bytes is null ? $"{what} is missing"
        : bytes.Length > maxBytes ? $"{what} is {bytes.Length} bytes; at most {maxBytes} (liminal.max-payload-bytes)"
        : null;

    /// <summary>What is wrong with an envelope's headers (none is fine): too many, too large together, a bad name or value.</summary>
    public static string? HeadersProblem(IReadOnlyDictionary<string, string>? headers)
    {
        if (headers is null)
            return null;
        if (headers.Count > MaxHeaders)
            return $"the envelope has {headers.Count} headers; at most {MaxHeaders}";
        var bytes = 0;
        foreach (var (name, value) in headers)
        {
            if (HeaderName.Problem(name) is { } nameProblem)
                return nameProblem;
            if (HeaderValue.Problem(value) is { } valueProblem)
                return $"header {name}: {valueProblem}";
            bytes += System.Text.Encoding.UTF8.GetByteCount(name) + System.Text.Encoding.UTF8.GetByteCount(value);
        }
        return bytes > MaxHeadersBytes ? $"the headers are {bytes} UTF-8 bytes together; at most {MaxHeadersBytes}" : null;
    }

    /// <summary>What is wrong with a dedup receipt: missing, or over <see cref="MaxReceiptBytes"/>.</summary>
    public static string? ReceiptProblem(ProcessingReceipt? receipt) =>
        receipt?.Bytes is not { } bytes ? "receipt is missing"
        : bytes.Length > MaxReceiptBytes ? $"receipt is {bytes.Length} bytes; at most {MaxReceiptBytes}"
        : null;

    /// <summary>
    /// What is wrong with a subscriber: missing, or an actor that can never receive anything (<c>Nobody</c>, dead
    /// letters, a path that resolved to no actor: what an unresolvable path from a remote client becomes).
    /// </summary>
    public static string? SubscriberProblem(IActorRef? subscriber) =>
        subscriber is null ? "subscriber is missing"
        : subscriber is Nobody or EmptyLocalActorRef || subscriber.Path.ToStringWithoutAddress() == "/deadLetters"
            ? $"subscriber {subscriber.Path} is no live actor (dead letters, Nobody or a path that resolves to no actor)"
        : null;
}

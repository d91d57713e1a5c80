using System.Diagnostics;
using Liminal.Actors.Channels;

namespace Liminal.Actors.Tracing;

/// <summary>
/// The bus's spans, on the <see cref="ActivitySource"/> <see cref="SourceName"/>, and the W3C trace context a message
/// carries in its headers (<see cref="TraceParent"/>, <see cref="TraceState"/>) through Akka.Remote and the journal:
/// the bus's <c>publish</c>, <c>store</c>, <c>deliver</c> and <c>ack</c> spans of a message are children of the
/// producer's <c>traceparent</c>, and a publish without one gets the bus's <c>publish</c> span as its trace parent.
/// </summary>
/// <remarks>
/// A span the bus records inside an actor never becomes <see cref="Activity.Current"/> beyond the call that records
/// it: an actor's thread runs other actors' messages next. Nothing is allocated when nothing listens to the source.
/// </remarks>
public static class LiminalTracing
{
    /// <summary>The name of the bus's <see cref="ActivitySource"/> (<c>AddSource("Liminal")</c>).</summary>
    public const string SourceName = "Liminal";

    /// <summary>The header of the W3C trace context (<c>00-{trace id}-{span id}-{flags}</c>).</summary>
    public const string TraceParent = "traceparent";

    /// <summary>The header of the W3C vendor trace state, carried beside <see cref="TraceParent"/>.</summary>
    public const string TraceState = "tracestate";

    internal static readonly ActivitySource Source = new(SourceName, typeof(LiminalTracing).Assembly.GetName().Version?.ToString());

    /// <summary>True when something records the bus's spans.</summary>
    internal static bool Enabled => Source.HasListeners();

    /// <summary>The trace context the message carries in its headers; default when it carries none (or a malformed one).</summary>
    public static ActivityContext ContextOf(MessageEnvelope envelope)
    {
        if (envelope.Headers is not { } headers || !headers.TryGetValue(TraceParent, out var parent))
            return default;
        headers.TryGetValue(TraceState, out var state);
        return ActivityContext.TryParse(parent, state, isRemote: true, out var context) ? context : default;
    }

    /// <summary>
    /// The envelope carrying <paramref name="activity"/>'s trace context (a producer's span, e.g. <see cref="Activity.Current"/>),
    /// so the bus's spans of the message join its trace; the envelope unchanged when there is no activity.
    /// </summary>
    public static MessageEnvelope WithTraceContext(this MessageEnvelope envelope, Activity? activity) =>
        activity is { IdFormat: ActivityIdFormat.W3C, Id: { } id }
            ? envelope with { Headers = WithTrace(envelope.Headers, id, activity.TraceStateString) }
            : envelope;

    /// <summary>
    /// For a subscriber: starts a consumer span <c>process {channel}</c> in the delivered message's trace, current until
    /// disposed (wrap the handling, e.g. a <see cref="Conversations.StepRunner"/> run, in it). Null when nothing listens.
    /// </summary>
    public static Activity? StartProcessing(Delivery delivery) =>
        Source.StartActivity($"process {delivery.Channel}", ActivityKind.Consumer, ContextOf(delivery.Envelope), Tags(delivery.Channel, delivery.Partition, delivery.SequenceNr));

    /// <summary>The trace id a message carries, for log lines; null when it carries none.</summary>
    public static string? TraceIdOf(MessageEnvelope envelope) =>
        ContextOf(envelope) is { TraceId: var traceId } context && context != default ? traceId.ToHexString() : null;

    /// <summary>" (trace {id})" for a log line about a message that carries a trace, else nothing.</summary>
    internal static string LogSuffix(MessageEnvelope envelope) => TraceIdOf(envelope) is { } traceId ? $" (trace {traceId})" : "";

    internal static Dictionary<string, string> WithTrace(IReadOnlyDictionary<string, string>? headers, string traceParent, string? traceState)
    {
        var result = headers is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(headers, StringComparer.Ordinal);
        result[TraceParent] = traceParent;
        if (traceState is { Length: > 0 })
            result[TraceState] = traceState;
        else
            result.Remove(TraceState);
        return result;
    }

    internal static ActivityTagsCollection Tags(string channel, int? partition = null, long? sequenceNr = null)
    {
        var tags = new ActivityTagsCollection
        {
            ["messaging.system"] = "liminal",
            ["messaging.destination.name"] = channel,
        };
        if (partition is { } p)
            tags["messaging.destination.partition.id"] = p.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (sequenceNr is { } sequence)
            tags["liminal.sequence_nr"] = sequence;
        return tags;
    }

    /// <summary>Starts a span that is not left current (see the remarks); stop it with <see cref="Stop"/>. Null when nothing listens.</summary>
    internal static Activity? StartDetached(string name, ActivityKind kind, ActivityContext parent, ActivityTagsCollection tags, DateTimeOffset startTime = default)
    {
        var previous = Activity.Current;
        // Whatever an actor's thread last ran is no parent: a span without a traced parent starts a trace.
        Activity.Current = null;
        var activity = Source.StartActivity(name, kind, parent, tags, startTime: startTime);
        Activity.Current = previous;
        return activity;
    }

    internal static void Stop(Activity? activity, string? error = null)
    {
        if (activity is null)
            return;
        if (error is not null)
            activity.SetStatus(ActivityStatusCode.Error, error);
        var previous = Activity.Current;
        activity.Stop();
        Activity.Current = previous;
    }

    /// <summary>A span that is over already: started at <paramref name="startTime"/> (now when default), stopped now.</summary>
    internal static void Record(string name, ActivityKind kind, ActivityContext parent, ActivityTagsCollection tags,
        DateTimeOffset startTime = default, string? error = null) =>
        Stop(StartDetached(name, kind, parent, tags, startTime), error);
}

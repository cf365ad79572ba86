namespace TrainedModelsOrleans.Grains.Deployments.Scaling;

/// <summary>
/// One deployment's scaler, as Elasticsearch's (adaptiveallocations/AdaptiveAllocationsScaler.java): Kalman filters estimate
/// the request rate (per second) and the inference time (seconds); their product is the load, in allocations kept busy.
/// Scale up while the load's lower bound per allocation exceeds 0.9; scale down while the load's upper bound would stay
/// under 0.85 per allocation with one allocation fewer (never below 1 that way); the band between is the hysteresis.
/// Then clamp to [min, max] (32 when max is unset), and go to 0 when min is 0 or unset and no request came for the
/// scale-to-zero time. Cool-downs are the caller's (<see cref="AdaptiveAllocationsScalers"/>).
/// </summary>
public sealed class AdaptiveAllocationsScaler
{
    public const double ScaleUpThreshold = 0.9;
    public const double ScaleDownThreshold = 0.85;

    /// <summary>ES's safeguard when max_number_of_allocations is not set.</summary>
    public const int MaxNumberOfAllocationsSafeguard = 32;

    /// <summary>ES: with 10 s samples, the last ~100 measurements (about 15 minutes) count.</summary>
    private const double SmoothingFactor = 100;

    // The request rate may change with users' behaviour: detect it. The inference time changes when the allocations
    // change, which the scaler knows and tells its filter.
    private readonly KalmanFilter1d _requestRate = new(SmoothingFactor, autodetectDynamicsChange: true);
    private readonly KalmanFilter1d _inferenceTime = new(SmoothingFactor, autodetectDynamicsChange: false);
    private readonly TimeSpan _scaleToZeroTime;
    private double _secondsWithoutRequests;
    private bool _dynamicsChanged;

    public AdaptiveAllocationsScaler(int numberOfAllocations, TimeSpan scaleToZeroTime)
    {
        NumberOfAllocations = numberOfAllocations;
        NeededNumberOfAllocations = numberOfAllocations;
        _scaleToZeroTime = scaleToZeroTime;
    }

    public int NumberOfAllocations { get; private set; }

    /// <summary>What the load needs, before clamping.</summary>
    public int NeededNumberOfAllocations { get; private set; }

    public int? MinNumberOfAllocations { get; private set; }
    public int? MaxNumberOfAllocations { get; private set; }

    public double? RequestRateEstimate => _requestRate.HasValue ? _requestRate.Estimate : null;
    public double? InferenceTimeEstimate => _inferenceTime.HasValue ? _inferenceTime.Estimate : null;

    public double LoadLower =>
        Math.Max(0.0, _requestRate.Lower) * Math.Max(0.0, _inferenceTime.HasValue ? _inferenceTime.Lower : 1.0);

    public double LoadUpper => _requestRate.Upper * (_inferenceTime.HasValue ? _inferenceTime.Upper : 1.0);

    public void SetMinMax(int? min, int? max) => (MinNumberOfAllocations, MaxNumberOfAllocations) = (min, max);

    /// <summary>Feeds what happened over the last <paramref name="intervalSeconds"/>, with the deployment's allocations now.</summary>
    public void Process(RequestStats stats, double intervalSeconds, int numberOfAllocations)
    {
        _secondsWithoutRequests = stats.RequestCount > 0 ? 0 : _secondsWithoutRequests + intervalSeconds;

        // Requests as a Poisson process: the count's variance is its mean (at least 1, below which it cannot be measured);
        // the estimate, not the measurement, goes into the variance so that it is not biased.
        var rate = stats.RequestCount / intervalSeconds;
        var rateEstimate = _requestRate.HasValue ? _requestRate.Estimate : rate;
        _requestRate.Add(rate, Math.Max(1.0, rateEstimate * intervalSeconds) / (intervalSeconds * intervalSeconds), false);

        if (stats.RequestCount > 0 && !double.IsNaN(stats.InferenceTime))
        {
            // Unknown distribution: take the standard error equal to the mean, divided over the measurements it averages.
            var timeEstimate = _inferenceTime.HasValue ? _inferenceTime.Estimate : stats.InferenceTime;
            _inferenceTime.Add(stats.InferenceTime, timeEstimate * timeEstimate / stats.RequestCount, _dynamicsChanged);
        }

        NumberOfAllocations = numberOfAllocations;
        _dynamicsChanged = false;
    }

    /// <summary>A request just asked to scale from zero: the time without requests starts over.</summary>
    public void ResetTimeWithoutRequests() => _secondsWithoutRequests = 0;

    /// <summary>The new number of allocations, or null to keep the current one (also before the first measurement).</summary>
    public int? Scale()
    {
        if (!_requestRate.HasValue) return null;
        var old = NumberOfAllocations;
        var allocations = old;

        var lower = LoadLower;
        while (lower / allocations > ScaleUpThreshold) allocations++;
        var upper = LoadUpper;
        while (allocations > 1 && upper / (allocations - 1) < ScaleDownThreshold) allocations--;
        NeededNumberOfAllocations = allocations;

        if (MaxNumberOfAllocations is null) allocations = Math.Min(allocations, MaxNumberOfAllocationsSafeguard);
        if (MinNumberOfAllocations is { } min) allocations = Math.Max(allocations, min);
        if (MaxNumberOfAllocations is { } max) allocations = Math.Min(allocations, max);
        if (MinNumberOfAllocations is null or 0 && _secondsWithoutRequests > _scaleToZeroTime.TotalSeconds)
        {
            allocations = 0;
            NeededNumberOfAllocations = 0;
        }

        NumberOfAllocations = allocations;
        if (allocations == old) return null;
        _dynamicsChanged = true;
        return allocations;
    }
}

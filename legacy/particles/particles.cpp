#include "particles.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace sim {

ParticleSystem::ParticleSystem(int n, double box) : n_(n), box_(box) {
    if (n < 0) throw std::invalid_argument("n must be >= 0, got " + std::to_string(n));
    if (!(box > 0)) throw std::invalid_argument("box must be > 0");
    x_.assign(3 * static_cast<size_t>(n), 0.0);
    v_.assign(3 * static_cast<size_t>(n), 0.0);
}

ParticleSystem::ParticleSystem(const ParticleSystem &other, const std::string &label) : ParticleSystem(other) {
    this->label = label;
}

void ParticleSystem::set_box(double box) {
    if (!(box > 0)) throw std::invalid_argument("box must be > 0");
    box_ = box;
}

void ParticleSystem::set_positions(const std::vector<double> &xyz) {
    if (xyz.size() != x_.size())
        throw std::length_error("expected " + std::to_string(x_.size()) + " coordinates, got " +
                                std::to_string(xyz.size()));
    x_ = xyz;
}

void ParticleSystem::set_velocities(const std::vector<double> &v) {
    if (v.size() != v_.size())
        throw std::length_error("expected " + std::to_string(v_.size()) + " velocities, got " +
                                std::to_string(v.size()));
    v_ = v;
}

int ParticleSystem::step(double dt) {
    for (size_t i = 0; i < v_.size(); ++i)
        if (std::fabs(v_[i] * dt) > box_ / 2)
            throw Unstable("particle " + std::to_string(i / 3) + " would move more than half the box");
    int wraps = 0;
    for (size_t i = 0; i < x_.size(); ++i) {
        x_[i] += v_[i] * dt;
        while (x_[i] >= box_) { x_[i] -= box_; ++wraps; }
        while (x_[i] < 0) { x_[i] += box_; ++wraps; }
    }
    return wraps;
}

double ParticleSystem::kinetic_energy(double mass) const {
    double e = 0;
    for (double v : v_) e += 0.5 * mass * v * v;
    return e;
}

std::string ParticleSystem::describe() const {
    std::ostringstream s;
    s << label << ": " << n_ << " particles in a box of " << box_;
    return s.str();
}

ParticleSystem::~ParticleSystem() {
    if (std::getenv("PARTICLES_TRACE")) std::fprintf(stderr, "~ParticleSystem(%s, %d particles)\n", label.c_str(), n_);
}

}  // namespace sim

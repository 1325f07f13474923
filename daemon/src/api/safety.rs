//! `interlude.v1.Safety`: help-now, the safety plan, and its readable-while-locked copy.

use std::sync::Arc;

use interlude_proto::v1;
use interlude_proto::v1::safety_server::Safety as SafetyApi;
use tonic::{Request, Response, Status};

use crate::domain::SafetyPlan;
use crate::safety::{Category, Payload, Safety, Tier};

pub struct SafetyService {
    pub safety: Arc<Safety>,
}

#[tonic::async_trait]
impl SafetyApi for SafetyService {
    async fn help_now(
        &self,
        _: Request<v1::HelpNowRequest>,
    ) -> Result<Response<v1::SafetyPayload>, Status> {
        Ok(Response::new(payload_to(self.safety.payload(None))))
    }

    async fn get_plan(
        &self,
        _: Request<v1::GetPlanRequest>,
    ) -> Result<Response<v1::SafetyPlan>, Status> {
        let plan = self.safety.plans.get()?;
        Ok(Response::new(plan_to(
            plan,
            self.safety.plans.has_locked_copy(),
        )))
    }

    async fn set_plan(
        &self,
        request: Request<v1::SafetyPlan>,
    ) -> Result<Response<v1::SafetyPlan>, Status> {
        let plan = self
            .safety
            .plans
            .set(plan_from(request.into_inner()))
            .await?;
        Ok(Response::new(plan_to(
            plan,
            self.safety.plans.has_locked_copy(),
        )))
    }

    async fn set_country(
        &self,
        request: Request<v1::SetCountryRequest>,
    ) -> Result<Response<v1::SafetyPayload>, Status> {
        self.safety.set_country(&request.into_inner().country)?;
        tracing::info!("crisis lines' country recorded");
        Ok(Response::new(payload_to(self.safety.payload(None))))
    }

    async fn set_locked_copy(
        &self,
        request: Request<v1::SetLockedCopyRequest>,
    ) -> Result<Response<v1::SafetyPlan>, Status> {
        self.safety
            .plans
            .set_locked_copy(request.into_inner().enabled)?;
        let plan = self.safety.plans.get()?;
        Ok(Response::new(plan_to(
            plan,
            self.safety.plans.has_locked_copy(),
        )))
    }
}

pub fn payload_to(payload: Payload) -> v1::SafetyPayload {
    let tier = match payload.finding.map(|f| f.tier) {
        None => v1::CrisisTier::Unspecified,
        Some(Tier::Indirect) => v1::CrisisTier::Indirect,
        Some(Tier::Ideation) => v1::CrisisTier::Ideation,
        Some(Tier::Acute) => v1::CrisisTier::Acute,
    };
    let category = payload
        .finding
        .map_or(v1::CrisisCategory::Unspecified, |f| category_to(f.category));
    v1::SafetyPayload {
        tier: tier.into(),
        category: category.into(),
        message: payload.message,
        plan: payload.plan.map(|plan| plan_to(plan, false)),
        lines: payload.lines.region.proto_lines(),
        region: payload.lines.region.name,
        country: payload.lines.region.id,
        region_note: payload.lines.note,
    }
}

fn category_to(category: Category) -> v1::CrisisCategory {
    match category {
        Category::WishToBeDead => v1::CrisisCategory::WishToBeDead,
        Category::SuicidalThoughts => v1::CrisisCategory::SuicidalThoughts,
        Category::Method => v1::CrisisCategory::Method,
        Category::SelfHarm => v1::CrisisCategory::SelfHarm,
        Category::Intent => v1::CrisisCategory::Intent,
        Category::Plan => v1::CrisisCategory::Plan,
        Category::Preparatory => v1::CrisisCategory::Preparatory,
        Category::Attempt => v1::CrisisCategory::Attempt,
        Category::WarningSign => v1::CrisisCategory::WarningSign,
        Category::OtherPerson => v1::CrisisCategory::OtherPerson,
    }
}

fn plan_to(plan: SafetyPlan, readable_while_locked: bool) -> v1::SafetyPlan {
    v1::SafetyPlan {
        warning_signs: plan.warning_signs,
        coping_strategies: plan.coping_strategies,
        distractions: plan.distractions,
        people_to_ask: plan.people_to_ask,
        professionals: plan.professionals,
        safe_environment: plan.safe_environment,
        reasons_for_living: plan.reasons_for_living,
        urgent_care: plan.urgent_care,
        readable_while_locked,
    }
}

fn plan_from(plan: v1::SafetyPlan) -> SafetyPlan {
    SafetyPlan {
        warning_signs: plan.warning_signs,
        coping_strategies: plan.coping_strategies,
        distractions: plan.distractions,
        people_to_ask: plan.people_to_ask,
        professionals: plan.professionals,
        safe_environment: plan.safe_environment,
        reasons_for_living: plan.reasons_for_living,
        urgent_care: plan.urgent_care,
    }
}
